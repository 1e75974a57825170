"""Stage ``qc``: per-sample adaptive thresholds and doublet removal, written as tables only.

Inputs
    ``h5ad``: ``ingested.h5ad`` (the ingested values in ``X`` - or counts in
    ``layers["counts"]`` - and ``obs["sample"]``), read backed: metrics a chunk of cells at a
    time, scrublet one sample at a time.
Outputs
    ``metrics``: ``qc_metrics.tsv``, per-cell metrics, flags, removal reason and ``kept``;
    ``summary``: ``qc_summary.tsv``, per-sample ``input_mode``, thresholds and counts; floats
    as ``%.6g``. No matrix: the cluster stage applies the tables to ``ingested.h5ad``
    (:func:`tmesig.qc.apply_qc`, :func:`tmesig.qc.read_input_mode`).
Params
    ``qc``: the config's ``qc`` section (:class:`tmesig.qc.QcOptions`); ``ingest`` (optional):
    the config's ``ingest`` section, whose ``input_mode`` (default ``auto``) decides with the
    data whether the run is on counts, normalised values or a panel
    (:func:`tmesig.qc.qc_input_mode`); the mode is written in ``qc_summary.tsv``.
Threads
    scrublet's parts run in as many worker processes (one thread each; the same scores).
"""

import dataclasses

import anndata as ad

from .. import qc
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Run QC on ``io.input["h5ad"]``; write ``metrics`` and ``summary``; return a summary.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"QC kept <kept> of <total> cells (input mode <mode>)"``.
    """
    adata = ad.read_h5ad(io.input["h5ad"], backed="r")
    try:
        requested = io.params.get("ingest", {}).get("input_mode", "auto")
        mode = qc.qc_input_mode(adata, requested=requested)
        options = dataclasses.replace(
            qc.QcOptions.from_config(io.params["qc"]), input_mode=mode, n_jobs=io.threads
        )
        metrics, summary = qc.qc_tables(adata, options=options)
    finally:
        adata.file.close()
    metrics.to_csv(io.output["metrics"], sep="\t", float_format="%.6g")
    summary.to_csv(io.output["summary"], sep="\t", index=False, float_format="%.6g")
    return f"QC kept {int(metrics['kept'].sum())} of {len(metrics)} cells (input mode {mode})"
