# Glue between the rules and tmesig: the config, the sample sheet and the paths are set up in
# the Snakefile (tmesig.sheet, tmesig.workflow_paths); here are the rules' input functions.
from tmesig import resources_model

ENV = "../../envs/tmesig.yaml"


wildcard_constraints:
    dataset=sheet.DATASET_RE,


def dataset_path(wildcards):
    """Input function of ingest: the dataset's file(s); missing local files are named clearly."""
    return paths.inputs(wildcards.dataset, check=True)


def dataset_row(wildcards):
    """The dataset's sample-sheet row (sha256, sample_col, patient_col, condition_col...)."""
    return samples.loc[wildcards.dataset].to_dict()


def download_url(wildcards):
    return samples.loc[wildcards.dataset, "path"].strip()


def download_sha256(wildcards):
    return samples.loc[wildcards.dataset, "sha256"].strip()


def seeded(section):
    """A config section with the top-level seed, which its stage reads as ``seed``."""
    return sheet.with_seed(config, section)


def cost(rule):
    """mem_mb of a rule from its largest input matrix, more at each attempt (resources_model)."""

    def mem(wildcards, input, attempt):
        return resources_model.mem_mb(rule, input, attempt=attempt)

    return mem


def minutes(rule):
    """runtime (minutes) of a rule from its largest input matrix, more at each attempt."""

    def runtime(wildcards, input, attempt):
        return resources_model.runtime(rule, input, attempt=attempt)

    return runtime


def job_cost(rule):
    """mem_mb of one job of QC's doublet plan: its share of the cells."""

    def mem(wildcards, input, attempt):
        share = resources_model.job_share(input.plan, int(wildcards.job))
        return resources_model.mem_mb(rule, input, attempt=attempt, share=share)

    return mem


def chunk_cost(rule):
    """mem_mb of one block of a scattered rule: its share of the matrix (the plan's rows)."""

    def mem(wildcards, input, attempt):
        share = resources_model.block_share(input.plan, int(wildcards.chunk))
        return resources_model.mem_mb(rule, input, attempt=attempt, share=share)

    return mem
