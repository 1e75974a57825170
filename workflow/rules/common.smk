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


def _share(per, input, wildcards):
    """The job's share of the matrix: a QC doublet job's cells, a score block's rows, or 1."""
    if per == "job":
        return resources_model.job_share(input.plan, int(wildcards.job))
    if per == "chunk":
        return resources_model.block_share(input.plan, int(wildcards.chunk))
    return 1.0


def _stream_above(name):
    """Cells above which a streaming stage reads its input in chunks (None: not streamed)."""
    return (
        config.get(name, {}).get("stream_above")
        if name in resources_model.STREAMED
        else None
    )


def cost(name, per=None):
    """mem_mb for ``name`` (a rule) from its largest input matrix (per="job" or "chunk": the job's
    share of it, from the plan), more at each attempt (resources_model)."""

    def mem(wildcards, input, attempt):
        share, above = _share(per, input, wildcards), _stream_above(name)
        return resources_model.mem_mb(
            name, input, attempt=attempt, share=share, stream_above=above
        )

    return mem


def minutes(name, per=None):
    """runtime (minutes) of a rule, like cost()."""

    def runtime(wildcards, input, attempt):
        share, above = _share(per, input, wildcards), _stream_above(name)
        return resources_model.runtime(
            name, input, attempt=attempt, share=share, stream_above=above
        )

    return runtime
