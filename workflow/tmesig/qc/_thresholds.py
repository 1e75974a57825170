"""Per-sample median ± k·MAD thresholds, the reasons each cell is removed, the summary."""

from typing import Any

import numpy as np
import pandas as pd

from ..input_mode import NORMALISED, PANEL
from ._options import QcOptions

__all__ = ["MIN_MAD", "REASONS", "Reasons", "mad_bounds", "sample_thresholds", "summary_table"]

#: A MAD below this (on the log or percentage scale) is treated as 0: the rule is skipped.
MIN_MAD = 1e-3

#: Reasons a cell is removed, in the order they are tested (``n_<reason>`` summary columns).
REASONS = (
    "low_counts",
    "high_counts",
    "low_genes",
    "high_genes",
    "below_min_genes",
    "high_mito",
    "doublet",
)


def mad_bounds(values: np.ndarray, *, nmads: float) -> tuple[float, float]:
    """Return ``(median - nmads * MAD, median + nmads * MAD)`` with the raw (unscaled) MAD.

    Parameters
    ----------
    values
        One metric for the cells of one sample.
    nmads
        Number of median absolute deviations on each side.

    Returns
    -------
    tuple of float
        The lower and upper bound.
    """
    values = np.asarray(values, dtype=np.float64)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    return med - nmads * mad, med + nmads * mad


class Reasons:
    """One boolean mask per reason (:data:`REASONS`) over the cells.

    Parameters
    ----------
    n_cells : int
        Number of cells.
    """

    def __init__(self, n_cells: int) -> None:
        self.masks = {label: np.zeros(n_cells, dtype=bool) for label in REASONS}

    def add(self, mask: np.ndarray, label: str) -> None:
        """Mark the cells of ``mask`` as removed for ``label``.

        Parameters
        ----------
        mask : numpy.ndarray
            Boolean over the cells.
        label : str
            One of :data:`REASONS`.
        """
        self.masks[label] |= np.asarray(mask, dtype=bool)

    def removed(self) -> np.ndarray:
        """Boolean: removed for at least one reason."""
        return np.logical_or.reduce(list(self.masks.values()))

    def labels(self) -> np.ndarray:
        """Per cell the ``;``-joined reasons in :data:`REASONS` order (``""``: kept)."""
        out = np.full(len(self.masks[REASONS[0]]), "", dtype=object)
        for label in REASONS:
            m = self.masks[label]
            out[m] = np.where(out[m] == "", label, out[m] + ";" + label)
        return out


def _mad_rule(values: np.ndarray, nmads: float) -> tuple[float, float, str]:
    """Median ± ``nmads`` MAD of ``values``; NaN bounds when the MAD is ~0."""
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    if mad < MIN_MAD:
        share = float(np.mean(np.abs(values - med) < MIN_MAD))
        return np.nan, np.nan, f"skipped: MAD 0 ({share:.0%} of cells share the median)"
    return med - nmads * mad, med + nmads * mad, "applied"


def _plausible(m: pd.DataFrame, sel: np.ndarray, *, opts: QcOptions, floor: int) -> np.ndarray:
    """The cells of ``sel`` the median and MAD are taken on: those above the genes floor and
    below the mitochondrial ceiling (all of ``sel`` when fewer than 3 are). Empty droplets and
    dead cells would otherwise set the bounds of a sample they dominate, and its real cells
    fall outside them (every cell of the sample removed)."""
    pct = m["pct_mito"].to_numpy()
    ok = sel & (m["n_genes"].to_numpy() >= floor) & ~(pct > opts.max_pct_mito)
    return ok if ok.sum() >= 3 else sel


def sample_thresholds(
    m: pd.DataFrame, sample: Any, *, reasons: Reasons, opts: QcOptions, floor: int
) -> dict[str, Any]:
    """Apply one sample's count, gene and mitochondrial thresholds; return its summary row.

    Parameters
    ----------
    m : DataFrame
        Per-cell ``sample``, ``log_counts``, ``log_genes``, ``n_genes``, ``pct_mito``.
    sample
        The sample whose cells are judged.
    reasons : Reasons
        Updated in place.
    opts : QcOptions
        Thresholds and the input mode.
    floor : int
        The absolute genes-detected floor.

    Returns
    -------
    dict
        The sample's summary row (thresholds and the status of each rule).
    """
    sel = m["sample"].to_numpy() == sample
    row: dict[str, Any] = {"sample": sample, "cells_in": int(sel.sum())}
    log_c, log_g = m["log_counts"].to_numpy(), m["log_genes"].to_numpy()
    base = _plausible(m, sel, opts=opts, floor=floor)
    if opts.input_mode == NORMALISED:
        lo_c, hi_c, row["count_filter"] = np.nan, np.nan, "skipped: input normalised (no counts)"
    else:
        lo_c, hi_c, row["count_filter"] = _mad_rule(log_c[base], opts.nmads)
    lo_g, hi_g, row["gene_filter"] = _mad_rule(log_g[base], opts.nmads)
    if opts.input_mode == PANEL:  # a panel's totals follow its gene choice, not doublets
        hi_c = hi_g = np.nan
        for key in ("count_filter", "gene_filter"):
            if row[key] == "applied":
                row[key] = "applied: lower bound only (panel)"
    # comparisons with NaN bounds are False: a skipped rule removes nothing
    reasons.add(sel & (log_c < lo_c), "low_counts")
    reasons.add(sel & (log_c > hi_c), "high_counts")
    reasons.add(sel & (log_g < lo_g), "low_genes")
    reasons.add(sel & (log_g > hi_g), "high_genes")
    reasons.add(sel & (m["n_genes"].to_numpy() < floor), "below_min_genes")
    row.update(
        {
            "min_total_counts": float(np.expm1(lo_c)),
            "max_total_counts": float(np.expm1(hi_c)),
            "min_genes": float(np.nanmax([np.expm1(lo_g), floor])),
            "max_genes": float(np.expm1(hi_g)),
            "min_genes_floor": floor,
        }
    )
    pct_all = m["pct_mito"].to_numpy()
    if np.all(np.isnan(pct_all[sel])):
        row["max_pct_mito"] = np.nan
        row["mito_filter"] = "skipped: no MT- genes in the matrix"
        return row
    _, hi_m, status = _mad_rule(pct_all[base], opts.nmads_mito)
    if status == "applied":
        cut = min(max(hi_m, opts.min_pct_mito), opts.max_pct_mito)
    else:  # MAD 0: only the hard ceiling
        cut, status = float(opts.max_pct_mito), f"{status}; ceiling qc.max_pct_mito only"
    reasons.add(sel & (pct_all > cut), "high_mito")
    row["max_pct_mito"] = float(cut)
    row["mito_filter"] = status
    return row


def summary_table(m: pd.DataFrame, *, rows: list[dict[str, Any]], reasons: Reasons) -> pd.DataFrame:
    """Per-sample thresholds, cells kept and removed, and cells removed for each reason.

    Parameters
    ----------
    m : DataFrame
        Per-cell ``sample`` and ``kept``.
    rows : list of dict
        One summary row per sample (:func:`sample_thresholds`, then the doublet outcome).
    reasons : Reasons
        The removal masks.

    Returns
    -------
    DataFrame
        One row per sample.
    """
    summary = pd.DataFrame(rows)
    samples = m["sample"].to_numpy()
    kept_per = pd.Series(m["kept"].to_numpy()).groupby(samples).sum()
    summary["cells_kept"] = summary["sample"].map(kept_per).astype(int)
    summary["cells_removed"] = summary["cells_in"] - summary["cells_kept"]
    for label in REASONS:
        per = pd.Series(reasons.masks[label]).groupby(samples).sum()
        summary[f"n_{label}"] = summary["sample"].map(per).astype(int)
    return summary
