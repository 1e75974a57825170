"""Stage ``qc_doublets`` (scattered QC): scrublet on one job's parts of the doublet plan.

Inputs
    ``h5ad``: ``ingested.h5ad`` (read backed: only the job's cells); ``plan``: ``qc/plan.tsv``.
Outputs
    ``doublets``: ``qc/doublets_{job}.parquet`` (:func:`tmesig.qc.screen_job`): per cell of the
    job's parts, its part, scrublet score, call and the part's threshold; the numbers the
    unsplit QC computes.
Params
    ``qc``, ``ingest`` (optional): the config's sections.
Wildcards
    ``job``: the job's number in the plan.
Threads
    the job's parts run in as many worker processes (one thread each; the same scores).
"""

import anndata as ad

from .. import qc
from ._io import StageIO
from .qc import run_options

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Screen the job's parts; write ``doublets``; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs, params and wildcards (see the module docstring).
    """
    plan = qc.read_doublet_plan(io.input["plan"])
    job = int(io.wildcards["job"])
    adata = ad.read_h5ad(io.input["h5ad"], backed="r")
    try:
        options = run_options(adata, io)
        table = qc.screen_job(adata, plan, job, options=options, where=io.input["plan"])
    finally:
        adata.file.close()
    table.to_parquet(io.output["doublets"])
    n_parts = table["part"].nunique()
    return f"doublet job {job}: {len(table)} cells in {n_parts} parts screened"
