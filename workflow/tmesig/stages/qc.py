"""Stage ``qc``: per-sample adaptive thresholds and doublet removal.

Inputs
    ``h5ad``: ``ingested.h5ad`` (counts in ``layers["counts"]``, ``obs["sample"]``).
Outputs
    ``h5ad``: ``qc.h5ad``, the kept cells and genes (gzip level 1: deterministic bytes);
    ``metrics``: ``qc_metrics.tsv``, per-cell metrics, flags and removal reason;
    ``summary``: ``qc_summary.tsv``, per-sample thresholds and counts; floats as ``%.6g``.
Params
    ``qc``: the config's ``qc`` section (:class:`tmesig.qc.QcOptions`).
"""

import anndata as ad

from .. import qc
from ..io.write import write_h5ad_deterministic
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Run QC on ``io.input["h5ad"]``; write ``h5ad``, ``metrics``, ``summary``; return a summary.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"QC kept <kept> of <total> cells"``.
    """
    adata = ad.read_h5ad(io.input["h5ad"])
    kept, metrics, summary = qc.run_qc(adata, options=qc.QcOptions.from_config(io.params["qc"]))
    metrics.to_csv(io.output["metrics"], sep="\t", float_format="%.6g")
    summary.to_csv(io.output["summary"], sep="\t", index=False, float_format="%.6g")
    write_h5ad_deterministic(kept, io.output["h5ad"])
    return f"QC kept {kept.n_obs} of {adata.n_obs} cells"
