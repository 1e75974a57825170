"""QC of a whole dataset: the per-cell and per-sample tables, and applying them to a matrix."""

import json
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from ..input_mode import (
    COUNTS,
    INPUT_MODES,
    NORMALISED,
    PANEL,
    REQUESTED_MODES,
    decide_input_mode,
    resolve_input_mode,
)
from ..io.errors import InputError
from ._doublets import screen_samples
from ._metrics import iter_count_blocks, qc_metrics
from ._options import QcOptions
from ._scatter import DoneParts
from ._thresholds import Reasons, sample_thresholds, summary_table

__all__ = [
    "QC_OBS_COLUMNS",
    "apply_qc",
    "kept_genes",
    "qc_input_mode",
    "qc_tables",
    "read_input_mode",
    "run_qc",
]

#: Per-cell metrics carried into the kept cells' ``obs`` (:func:`apply_qc`).
QC_OBS_COLUMNS = ("total_counts", "n_genes", "pct_mito", "doublet_score")


def qc_tables(
    adata: ad.AnnData, *, options: QcOptions | None = None, doublets: DoneParts | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell metrics, flags and removal reasons, and per-sample thresholds and counts.

    Reads the matrix a chunk of cells at a time and one sample at a time for doublets, so a
    backed AnnData (``anndata.read_h5ad(path, backed="r")``) is never loaded whole.

    Parameters
    ----------
    adata
        Ingested data (in memory or backed): counts in ``layers["counts"]`` or ``X`` (the
        given log values in the normalised mode) and ``obs[options.sample_key]``.
    options
        Thresholds and the input mode (default :class:`QcOptions` ()).
    doublets
        Doublet parts screened in separate jobs (:func:`tmesig.qc.gather_doublets`), used
        instead of running scrublet here; ``None`` screens them here.

    Returns
    -------
    metrics, summary
        Per cell (index ``cell``): ``sample``, ``total_counts``, ``n_genes``, ``pct_mito``,
        ``doublet_score``, ``predicted_doublet``, ``removed_reason`` (``kept`` or the
        ``;``-joined reasons), ``kept``; per sample: ``input_mode``, thresholds, the status
        of each rule, cells kept and removed, cells removed for each reason.

    Raises
    ------
    InputError
        When no cell passes.
    """
    opts = QcOptions() if options is None else options
    m = qc_metrics(adata, normalised=opts.input_mode == NORMALISED, chunk_size=opts.chunk_size)
    m.insert(0, "sample", adata.obs[opts.sample_key].astype(str).to_numpy())
    m["log_counts"] = np.log1p(m["total_counts"])
    m["log_genes"] = np.log1p(m["n_genes"])
    m["doublet_score"] = np.nan
    m["predicted_doublet"] = False
    reasons = Reasons(len(m))
    floor = opts.min_genes_floor(adata.n_vars)
    samples = sorted(set(m["sample"]))
    rows = [
        sample_thresholds(m, sample, reasons=reasons, opts=opts, floor=floor) for sample in samples
    ]
    skip = opts.doublet_skip_reason()
    if skip is None:
        screen_samples(adata, m, rows=rows, opts=opts, done=doublets)
    else:
        for row in rows:
            row["doublets"] = skip
    reasons.add(m["predicted_doublet"].to_numpy().astype(bool), "doublet")
    labels = reasons.labels()
    m["removed_reason"] = np.where(labels == "", "kept", labels).astype(object)
    m["kept"] = labels == ""
    if not m["kept"].any():
        why = ", ".join(f"{k}: {v}" for k, v in m["removed_reason"].value_counts().items())
        msg = (
            f"QC removed every cell ({len(m)} cells; {why}); loosen config qc.nmads / "
            "qc.min_genes or check the input matrix"
        )
        raise InputError(msg)
    summary = summary_table(m, rows=rows, reasons=reasons)
    summary.insert(1, "input_mode", opts.input_mode)
    m = m.drop(columns=["log_counts", "log_genes"])
    m.index.name = "cell"
    return m, summary


def kept_genes(adata: ad.AnnData, kept: np.ndarray, *, min_cells_per_gene: int) -> np.ndarray:
    """Genes detected (non-zero) in at least ``min_cells_per_gene`` of the ``kept`` cells.

    Parameters
    ----------
    adata
        Cells × genes (in memory or backed), read a chunk at a time.
    kept
        Boolean over ``adata``'s cells.
    min_cells_per_gene
        Fewest kept cells a gene must be detected in.

    Returns
    -------
    numpy.ndarray
        Boolean over ``adata``'s genes.
    """
    seen = np.zeros(adata.n_vars, dtype=np.int64)
    kept = np.asarray(kept, dtype=bool)
    for start, stop, x in iter_count_blocks(adata):
        rows = x[kept[start:stop]]
        seen += np.bincount(rows.indices, minlength=adata.n_vars)
    return seen >= min_cells_per_gene


def apply_qc(adata: ad.AnnData, metrics: pd.DataFrame, *, min_cells_per_gene: int) -> ad.AnnData:
    """The kept cells of ``adata`` and the genes detected in enough of them, with QC metrics.

    Parameters
    ----------
    adata
        In memory: every ingested cell, or only the kept ones (matched by ``obs_names``).
    metrics
        :func:`qc_tables`' per-cell table (or ``qc_metrics.tsv`` read with ``index_col=0``).
    min_cells_per_gene
        Genes detected in fewer kept cells are dropped.

    Returns
    -------
    AnnData
        A copy: kept cells, kept genes, ``obs`` with :data:`QC_OBS_COLUMNS` added.

    Raises
    ------
    InputError
        When no cell of ``adata`` is kept.
    """
    kept = metrics.index[metrics["kept"].to_numpy().astype(bool)]
    cells = adata.obs_names.isin(kept)
    if not cells.any():
        msg = (
            "QC removed every cell; loosen config qc.nmads / qc.min_genes or check the input matrix"
        )
        raise InputError(msg)
    out = adata[cells]
    genes = kept_genes(out, np.ones(out.n_obs, dtype=bool), min_cells_per_gene=min_cells_per_gene)
    out = out[:, genes].copy()
    for col in QC_OBS_COLUMNS:
        out.obs[col] = metrics.loc[out.obs_names, col].to_numpy()
    return out


def run_qc(
    adata: ad.AnnData, *, options: QcOptions | None = None
) -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame]:
    """Flag and remove low-quality cells and doublets, sample by sample (in memory).

    :func:`qc_tables` then :func:`apply_qc`; the pipeline writes the tables only.

    Parameters
    ----------
    adata
        Ingested data: counts in ``layers["counts"]`` (or ``X``) and ``obs[options.sample_key]``.
    options
        Thresholds (default :class:`QcOptions` ()).

    Returns
    -------
    filtered, metrics, summary
        The kept cells (and genes), the per-cell and the per-sample table.

    Raises
    ------
    InputError
        When no cell passes.
    """
    opts = QcOptions() if options is None else options
    metrics, summary = qc_tables(adata, options=opts)
    return apply_qc(adata, metrics, min_cells_per_gene=opts.min_cells_per_gene), metrics, summary


def qc_input_mode(adata: ad.AnnData, *, requested: str = "auto") -> str:
    """The run's input mode, for ingested data with counts in a layer or in ``X``.

    :func:`tmesig.input_mode.resolve_input_mode` when ``adata`` has a ``counts`` layer or no
    ingest record; otherwise ``X`` holds what ingest recorded in ``uns["tmesig_ingest"]``
    (counts unless it says ``normalised``) and the same rule is applied to it.

    Parameters
    ----------
    adata
        Ingested data (in memory or backed).
    requested
        The config's ``ingest.input_mode``.

    Returns
    -------
    str
        One of :data:`tmesig.input_mode.INPUT_MODES`.
    """
    if "counts" in adata.layers or "tmesig_ingest" not in adata.uns:
        return resolve_input_mode(adata, requested=requested)
    if requested not in REQUESTED_MODES:
        msg = f"input mode {requested!r} is not one of {list(REQUESTED_MODES)}"
        raise ValueError(msg)
    record = adata.uns["tmesig_ingest"]
    record = json.loads(record) if isinstance(record, str) else dict(record)
    found = record.get("input_mode")
    if found not in (COUNTS, PANEL):  # normalised, or no counts recorded
        return NORMALISED
    if found == PANEL:
        return PANEL
    # with counts, ``normalised`` requested means counts: ingest decides what the matrix holds
    asked = COUNTS if requested == NORMALISED else requested
    n_genes = int(record.get("genes", adata.n_vars))
    return decide_input_mode(normalised=False, n_genes=n_genes, requested=asked)


def read_input_mode(summary: str | Path | pd.DataFrame) -> str:
    """The input mode QC resolved, read back from ``qc_summary.tsv`` (column ``input_mode``).

    Parameters
    ----------
    summary
        Path of ``qc_summary.tsv`` or the table itself.

    Returns
    -------
    str
        One of :data:`tmesig.input_mode.INPUT_MODES`.

    Raises
    ------
    InputError
        When the table has no ``input_mode`` column, or several or unknown modes.
    """
    table: Any = summary
    if not isinstance(summary, pd.DataFrame):
        table = pd.read_csv(summary, sep="\t", usecols=lambda c: c == "input_mode", dtype=str)
    modes = set(table["input_mode"]) if "input_mode" in table.columns else set()
    if len(modes) != 1 or not modes <= set(INPUT_MODES):
        msg = (
            f"{summary if not isinstance(summary, pd.DataFrame) else 'QC summary'}: no single "
            f"input mode in column 'input_mode' (found {sorted(map(str, modes))}); rerun the qc "
            "rule to write it again"
        )
        raise InputError(msg)
    return modes.pop()
