import os
import re
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

REPO = Path(workflow.basedir)
ENV = "../../envs/tmesig.yaml"
DATASET_RE = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
URL_RE = re.compile(r"^https?://", re.IGNORECASE)
URL_EXT_RE = re.compile(r"\.(h5ad|h5)$", re.IGNORECASE)
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
SCHEMAS = REPO / "workflow" / "schemas"


def _schema_problems(data, schema_file):
    """Short 'where: what' lines for every schema violation (the full schema is not printed)."""
    import jsonschema
    import yaml

    schema = yaml.safe_load((SCHEMAS / schema_file).read_text())
    checker = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for err in sorted(
        checker.iter_errors(data), key=lambda e: [str(p) for p in e.path]
    ):
        where = ".".join(str(p) for p in err.path) or "(top level)"
        problems.append(f"{where}: {err.message}")
    return problems


def _check_config():
    files = ", ".join(str(f) for f in workflow.configfiles) or "the configuration"
    problems = _schema_problems(config, "config.schema.yaml")
    if problems:
        raise WorkflowError(
            f"{files}: invalid configuration - "
            + "; ".join(problems)
            + ". Fix: correct or remove these keys (every key, its type and default are listed in "
            "workflow/schemas/config.schema.yaml)"
        )
    validate(config, schema="../schemas/config.schema.yaml")


_check_config()


def _check_row(path, i, row):
    """Clear messages for the sheet errors a schema message would make obscure."""
    ds = str(row.get("dataset", ""))
    where = f"{path}: row {i + 1} (dataset {ds!r})"
    if not re.fullmatch(DATASET_RE, ds):
        raise WorkflowError(
            f"{where}: invalid dataset id - it names results/<dataset>/, so only letters, digits, "
            "'_', '-' and '.' are allowed (no spaces, semicolons, slashes or '..'), starting with a letter or "
            "digit, at most 64 characters. Fix: rename the dataset in the sample sheet"
        )
    p = str(row.get("path", ""))
    sha = str(row.get("sha256", "") or "")
    if URL_RE.match(p.strip()):
        if "," in p:
            raise WorkflowError(
                f"{where}: a URL path must name one file. Fix: give one URL per dataset row"
            )
        if not SHA256_RE.match(sha):
            raise WorkflowError(
                f"{where}: the path is a URL but the 'sha256' column is empty or not 64 hex digits; "
                "downloads are verified. Fix: add the file's SHA-256 to the sha256 column"
            )
        if not URL_EXT_RE.search(p.split("?")[0].split("#")[0]):
            raise WorkflowError(
                f"{where}: a URL must end in .h5ad or .h5 (the format is taken from it). Fix: "
                "link the .h5ad or 10x .h5 file, or download it yourself and give its local path"
            )
    n_paths = len([x for x in p.split(",") if x.strip()])
    n_sha = len([x for x in sha.split(",") if x.strip()])
    if n_sha and n_sha != n_paths:
        raise WorkflowError(
            f"{where}: {n_paths} path(s) but {n_sha} sha256 value(s). Fix: give one sha256 per "
            "path, separated by ',', in the same order, or leave the sha256 column empty"
        )


def _read_sheet(path):
    if not os.path.exists(path):
        raise WorkflowError(
            f"{path}: sample sheet not found; create it (see config/samples.tsv) or set 'samples' in the config"
        )
    try:
        sheet = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, comment="#"
        )
    except Exception as err:
        raise WorkflowError(
            f"{path}: not a readable tab-separated sample sheet ({err}). Fix: write it as TSV "
            "with a header (dataset, path, sha256, sample_col, patient_col, condition_col)"
        )
    missing = [c for c in ("dataset", "path") if c not in sheet.columns]
    if missing:
        raise WorkflowError(
            f"{path}: the sample sheet lacks the column(s) {', '.join(missing)} (it has: "
            f"{', '.join(sheet.columns)}). Fix: add them to the header (tab-separated)"
        )
    for i, row in enumerate(sheet.to_dict("records")):
        _check_row(path, i, row)
    problems = _schema_problems_rows(sheet)
    if problems:
        raise WorkflowError(
            f"{path}: invalid sample sheet - "
            + "; ".join(problems)
            + ". Fix: correct these entries (columns and allowed values: "
            "workflow/schemas/samples.schema.yaml)"
        )
    validate(sheet, schema="../schemas/samples.schema.yaml")
    sheet = sheet.fillna("")
    for col in ("sha256", "sample_col", "patient_col", "condition_col", "label_col"):
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
        raise WorkflowError(
            f"{path}: dataset ids must be unique; repeated: {dup}. Fix: rename one of them"
        )
    return sheet.set_index("dataset", drop=False)


def _schema_problems_rows(sheet):
    out = []
    for i, row in enumerate(sheet.to_dict("records")):
        out += [
            f"row {i + 1}, {p}" for p in _schema_problems(row, "samples.schema.yaml")
        ]
    return out


samples = _read_sheet(config["samples"])


wildcard_constraints:
    dataset=DATASET_RE,


def resource(value, default):
    """A configured path (relative to the working directory) or a shipped resource."""
    return value if value else str(REPO / default)


MARKERS = resource(config["annotate"]["markers"], "resources/markers/compartments.yaml")
CELLTYPIST_MODEL = config["annotate"]["celltypist_model"]
if CELLTYPIST_MODEL and not os.path.isfile(CELLTYPIST_MODEL):
    raise WorkflowError(
        f"annotate.celltypist_model: {CELLTYPIST_MODEL} is not a file (paths are relative to the "
        "working directory). tmesig never downloads CellTypist models. Fix: point it at a local .pkl "
        "model (e.g. one saved by celltypist.models.download_models on a connected machine) or set it "
        "to null"
    )
SIGNATURES = resource(config["signatures"]["directory"], "resources/signatures")
SIGNATURE_FILES = sorted(str(p) for p in Path(SIGNATURES).glob("*.yaml"))


def is_url(path):
    return bool(URL_RE.match(path.strip()))


def local_paths(ds):
    """The local file(s) of a dataset: its sheet paths, or the download of its URL."""
    p = samples.loc[ds, "path"].strip()
    if is_url(p):
        ext = URL_EXT_RE.search(p.split("?")[0].split("#")[0]).group(1).lower()
        return [f"resources/downloads/{ds}.{ext}"]
    return [x.strip() for x in p.split(",") if x.strip()]


def dataset_path(wildcards):
    """Input function of ingest: the dataset's file(s); missing local files are named clearly."""
    ds = wildcards.dataset
    files = local_paths(ds)
    if not is_url(samples.loc[ds, "path"]):
        missing = [f for f in files if not os.path.exists(f)]
        if missing:
            raise WorkflowError(
                f"{config['samples']}: dataset {ds!r}: file not found: {', '.join(missing)} "
                f"(paths are relative to the working directory {os.getcwd()}). Fix: correct the "
                "'path' column of the sample sheet or put the file there"
            )
    return files


def dataset_row(wildcards):
    return samples.loc[wildcards.dataset].to_dict()


def download_url(wildcards):
    return samples.loc[wildcards.dataset, "path"].strip()


def download_sha256(wildcards):
    return samples.loc[wildcards.dataset, "sha256"].strip()


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
