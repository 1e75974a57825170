"""Stage ``qc``: per-sample adaptive thresholds and doublet removal.

Inputs
    ``h5ad``: ``ingested.h5ad`` (counts in ``layers["counts"]``, ``obs["sample"]``).
Outputs
    ``h5ad``: ``qc.h5ad``, the kept cells and genes (gzip level 1: deterministic bytes);
    ``metrics``: ``qc_metrics.tsv``, per-cell metrics, flags and removal reason;
    ``summary``: ``qc_summary.tsv``, per-sample thresholds and counts; floats as ``%.6g``.
Params
    ``qc``: the config's ``qc`` section (:class:`tmesig.qc.QcOptions`); ``ingest`` (optional):
    the config's ``ingest`` section, whose ``input_mode`` (default ``auto``) decides with the
    data whether the run is on counts, normalised values or a panel
    (:func:`tmesig.input_mode.resolve_input_mode`); the mode is stored in ``qc.h5ad`` for the
    later stages and written in ``qc_summary.tsv``.
"""

import dataclasses

import anndata as ad

from .. import qc
from ..input_mode import NORMALISED, resolve_input_mode, store_input_mode
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
        ``"QC kept <kept> of <total> cells (input mode <mode>)"``.
    """
    adata = ad.read_h5ad(io.input["h5ad"])
    requested = io.params.get("ingest", {}).get("input_mode", "auto")
    mode = resolve_input_mode(adata, requested=requested)
    if mode != NORMALISED and "counts" not in adata.layers:  # ingest stores counts once, in X
        adata.layers["counts"] = adata.X
    options = dataclasses.replace(qc.QcOptions.from_config(io.params["qc"]), input_mode=mode)
    kept, metrics, summary = qc.run_qc(adata, options=options)
    store_input_mode(kept, mode)
    metrics.to_csv(io.output["metrics"], sep="\t", float_format="%.6g")
    summary.to_csv(io.output["summary"], sep="\t", index=False, float_format="%.6g")
    write_h5ad_deterministic(kept, io.output["h5ad"])
    return f"QC kept {kept.n_obs} of {adata.n_obs} cells (input mode {mode})"
