import os
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

REPO = Path(workflow.basedir)
ENV = "../../envs/tmesig.yaml"
DATASET_RE = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"


def _read_sheet(path):
    if not os.path.exists(path):
        raise WorkflowError(
            f"{path}: sample sheet not found; create it (see config/samples.tsv) or set 'samples' in the config"
        )
    sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment="#")
    validate(sheet, schema="../schemas/samples.schema.yaml")
    sheet = sheet.fillna("")
    for col in ("sha256", "sample_col", "patient_col", "condition_col"):
        if col not in sheet.columns:
            sheet[col] = ""
    if sheet.empty:
        raise WorkflowError(
            f"{path}: the sample sheet has no dataset rows; add one row per dataset"
        )
    if sheet["dataset"].duplicated().any():
        dup = ", ".join(
            sorted(set(sheet.loc[sheet["dataset"].duplicated(), "dataset"]))
        )
        raise WorkflowError(f"{path}: dataset ids must be unique; repeated: {dup}")
    return sheet.set_index("dataset", drop=False)


samples = _read_sheet(config["samples"])


wildcard_constraints:
    dataset=DATASET_RE,


def resource(value, default):
    """A configured path (relative to the working directory) or a shipped resource."""
    return value if value else str(REPO / default)


MARKERS = resource(config["annotate"]["markers"], "resources/markers/compartments.yaml")
SIGNATURES = resource(config["signatures"]["directory"], "resources/signatures")
SIGNATURE_FILES = sorted(str(p) for p in Path(SIGNATURES).glob("*.yaml"))


def dataset_path(wildcards):
    return samples.loc[wildcards.dataset, "path"]


def dataset_row(wildcards):
    return samples.loc[wildcards.dataset].to_dict()


def mem_for(factor, floor=2000):
    """mem_mb from the size of a rule's inputs: floor, or factor x input size in MB."""

    def mem(wildcards, input):
        return max(floor, int(factor * input.size_mb))

    return mem


def final_outputs():
    out = ["results/signatures/library.tsv", "results/signatures/tmesig.gmt"]
    for ds in samples.index:
        out += [
            f"results/{ds}/flags.tsv",
            f"results/{ds}/compartments.tsv",
            f"results/{ds}/coverage.tsv",
            f"results/{ds}/report/umap_compartment.png",
            f"results/{ds}/report/umap_scores.png",
            f"results/{ds}/report/dotplot_card_genes.png",
            f"results/{ds}/report/heatmap_compartment_sets.png",
            f"results/{ds}/report/qc_violin.png",
        ]
    return out
