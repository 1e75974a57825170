"""Stage ``qc_plan`` (a checkpoint): whether doublets are screened in separate jobs, and which.

Inputs
    ``h5ad``: ``ingested.h5ad`` (only ``obs`` and the ingest record are read).
Outputs
    ``plan``: ``qc/plan.tsv`` (:func:`tmesig.qc.doublet_plan`: ``job``, ``part``, ``sample``,
    ``n_cells``); no rows below ``scatter.min_cells`` cells or when the input mode screens no
    doublets (rule ``qc`` then screens them itself).
Params
    ``qc``, ``ingest`` (optional), ``scatter``: the config's sections.
"""

import logging
from pathlib import Path

import anndata as ad

from .. import qc, score
from ._io import StageIO
from .qc import run_options

__all__ = ["run"]

logger = logging.getLogger("tmesig")


def run(io: StageIO) -> str | None:
    """Write the plan; return a summary line when doublets are screened in separate jobs.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    adata = ad.read_h5ad(io.input["h5ad"], backed="r")
    try:
        options = run_options(adata, io)
        samples = adata.obs[options.sample_key].to_numpy()
    finally:
        adata.file.close()
    scatter = score.ScatterOptions.from_config(io.params["scatter"])
    plan = qc.doublet_plan(samples, options=options, scatter=scatter)
    Path(io.output["plan"]).parent.mkdir(parents=True, exist_ok=True)
    plan.to_csv(io.output["plan"], sep="\t", index=False)
    if plan.empty:
        logger.info("%d cells: doublets screened in the QC job", len(samples))
        return None
    return (
        f"{len(samples)} cells: {len(plan)} doublet parts screened in "
        f"{plan['job'].nunique()} jobs of up to {scatter.chunk_cells} cells"
    )
