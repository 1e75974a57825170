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
    With ``scatter.min_cells`` cells or more, the doublet parts were screened by jobs of
    rule ``qc_doublets``: inputs ``plan`` (``qc/plan.tsv``) and ``doublets`` (their tables),
    joined here (:func:`tmesig.qc.gather_doublets`) instead of running scrublet again.
Threads
    scrublet's parts run in as many worker processes (one thread each; the same scores).
"""

import dataclasses

import anndata as ad
import pandas as pd

from .. import qc
from ..input_mode import ingest_record
from ..io.errors import InputError
from ._io import StageIO

__all__ = ["run", "run_options"]


def run_options(adata: ad.AnnData, io: StageIO) -> qc.QcOptions:
    """The run's QC options: the config's ``qc`` section, the input mode resolved on the
    ingested cells (:func:`tmesig.qc.qc_input_mode`) and the job's threads.

    Parameters
    ----------
    adata
        The ingested cells (backed).
    io
        A QC stage's files and parameters (``qc``, optional ``ingest``).
    """
    requested = io.params.get("ingest", {}).get("input_mode", "auto")
    mode = qc.qc_input_mode(adata, requested=requested)
    return dataclasses.replace(
        qc.QcOptions.from_config(io.params["qc"]), input_mode=mode, n_jobs=io.threads
    )


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
        options = run_options(adata, io)
        mode = options.input_mode
        doublets = None
        if "doublets" in io.input:
            plan = qc.read_doublet_plan(io.input["plan"])
            tables = [pd.read_parquet(path) for path in io.input["doublets"]]
            doublets = qc.gather_doublets(tables, plan=plan)
        metrics, summary = qc.qc_tables(adata, options=options, doublets=doublets)
    except InputError as err:  # name the dataset's own file(s), not the intermediate
        source = ingest_record(adata).get("path")
        raise InputError(f"{source or io.input['h5ad']}: {err}") from None
    finally:
        adata.file.close()
    metrics.to_csv(io.output["metrics"], sep="\t", float_format="%.6g")
    summary.to_csv(io.output["summary"], sep="\t", index=False, float_format="%.6g")
    return f"QC kept {int(metrics['kept'].sum())} of {len(metrics)} cells (input mode {mode})"
