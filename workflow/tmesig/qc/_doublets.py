"""Doublets: scanpy's scrublet on one sample at a time, reading only that sample's cells.

Memory is bounded by the largest screened part, whatever the number of samples: a sample's
counts are read (rows of a backed file), screened and freed before the next. A sample above
:attr:`QcOptions.doublet_max_cells` is screened in random parts of at most that many cells
(deterministic from ``seed``); each part gets its own automatic threshold (the summary
records their median).
"""

from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from ._metrics import count_rows
from ._options import QcOptions

__all__ = ["screen_doublets", "split_rows"]


def split_rows(rows: np.ndarray, *, max_cells: int, seed: int) -> list[np.ndarray]:
    """Split cell positions into random parts of at most ``max_cells`` (each sorted).

    Parameters
    ----------
    rows : numpy.ndarray
        Positions of one sample's cells.
    max_cells : int
        Largest part.
    seed : int
        Seed of the split.

    Returns
    -------
    list of numpy.ndarray
        ``[rows]`` when it is small enough, else ``ceil(n / max_cells)`` parts of equal size
        (± 1 cell).
    """
    rows = np.asarray(rows)
    n_parts = int(np.ceil(len(rows) / max(int(max_cells), 1)))
    if n_parts <= 1:
        return [rows]
    order = np.random.default_rng(seed).permutation(len(rows))
    return [np.sort(rows[part]) for part in np.array_split(order, n_parts)]


def _scrublet(x: Any, names: pd.Index, seed: int) -> tuple[pd.Series, pd.Series, float]:
    """Scores, calls and threshold of scrublet on one part (counts ``x``, cells ``names``)."""
    sub = ad.AnnData(X=x)
    sub.obs_names = names
    sc.pp.scrublet(sub, random_state=seed, verbose=False)
    pred = sub.obs["predicted_doublet"].astype(bool)
    return sub.obs["doublet_score"], pred, float(sub.uns["scrublet"]["threshold"])


def screen_doublets(
    adata: ad.AnnData, m: pd.DataFrame, *, row: dict[str, Any], opts: QcOptions
) -> None:
    """Scrublet on one sample (``row``): scores and calls into ``m``, the outcome into ``row``.

    Parameters
    ----------
    adata : AnnData
        The ingested cells (in memory or backed): counts in ``layers["counts"]`` or ``X``.
    m : DataFrame
        Per-cell table with ``sample``, ``doublet_score`` and ``predicted_doublet`` (updated
        in place, same order as ``adata``).
    row : dict
        The sample's summary row (``doublets``, ``doublet_threshold`` are set).
    opts : QcOptions
        ``min_cells_doublets``, ``doublet_max_cells`` and ``seed``.
    """
    sel = np.flatnonzero(m["sample"].to_numpy() == row["sample"])
    if len(sel) < opts.min_cells_doublets:
        row["doublets"] = f"skipped: {len(sel)} cells < {opts.min_cells_doublets}"
        return
    parts = split_rows(sel, max_cells=opts.doublet_max_cells, seed=opts.seed)
    scores = m["doublet_score"].to_numpy(dtype=np.float64, copy=True)
    calls = m["predicted_doublet"].to_numpy(dtype=bool, copy=True)
    thresholds = []
    for rows in parts:
        score, pred, threshold = _scrublet(count_rows(adata, rows), m.index[rows], opts.seed)
        scores[rows], calls[rows] = score.to_numpy(), pred.to_numpy()
        thresholds.append(threshold)
    m["doublet_score"], m["predicted_doublet"] = scores, calls
    row["doublets"] = "applied"
    if len(parts) > 1:
        row["doublets"] = f"applied in {len(parts)} random parts of <= {opts.doublet_max_cells}"
    row["doublet_threshold"] = float(np.median(thresholds))
