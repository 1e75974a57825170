"""Quality control: per-sample adaptive thresholds and doublet removal.

Thresholds follow the usual median ± k·MAD rule, computed separately in each sample on
``log1p(total counts)``, ``log1p(genes detected)`` (both sides) and on the percentage of
mitochondrial counts (upper side only). Doublets are called with scanpy's scrublet, one
sample at a time. A rule whose MAD is (near) 0 in a sample is not applied there (a
threshold at ``median ± k·0`` would cut cells by float rounding), and the summary says so.

The input mode (:mod:`tmesig.input_mode`) changes what is measured: ``normalised`` input has
no counts, so only genes detected and the mitochondrial share (of ``expm1`` of the values)
are used and doublets are not screened; ``panel`` input scales the ``min_genes`` floor to the
panel's size, applies the count and gene rules on their lower side only (a cell's share of
a few hundred chosen genes says more about its type than about doublets) and, unless
``panel_doublets``, does not screen doublets either.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from .input_mode import COUNTS, NORMALISED, PANEL
from .io.errors import InputError

__all__ = ["QcOptions", "mad_bounds", "qc_metrics", "run_qc"]

#: A MAD below this (on the log or percentage scale) is treated as 0: the rule is skipped.
MIN_MAD = 1e-3

#: Reasons a cell is removed, in the order they are tested (``n_<reason>`` summary columns).
_REASONS = (
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


def qc_metrics(
    adata: ad.AnnData, *, layer: str = "counts", normalised: bool = False
) -> pd.DataFrame:
    """Per-cell total counts, genes detected and mitochondrial percentage.

    Mitochondrial genes are those whose symbol starts with ``MT-``; when a dataset has none
    (gene-subset matrices), ``pct_mito`` is NaN and the mitochondrial filter is skipped.

    Parameters
    ----------
    adata
        Cells × genes.
    layer
        Layer with the counts (``X`` when absent).
    normalised
        The matrix holds log-normalised values (no counts): ``total_counts`` is NaN and
        ``pct_mito`` is the share of ``expm1`` of the values (the normalised counts).

    Returns
    -------
    DataFrame
        ``total_counts``, ``n_genes`` and ``pct_mito`` per cell (index: ``obs_names``).
    """
    x = adata.layers[layer] if layer in adata.layers else adata.X
    x = sp.csr_matrix(x, dtype=np.float64)
    x.eliminate_zeros()
    genes = np.diff(x.indptr).astype(np.int64)
    if normalised:
        x = x.copy()
        x.data = np.expm1(x.data)
    total = np.asarray(x.sum(axis=1)).ravel().astype(np.float64)
    mito = np.asarray(adata.var_names.str.upper().str.startswith("MT-"))
    if mito.any():
        mt = np.asarray(x[:, np.flatnonzero(mito)].sum(axis=1)).ravel()
        pct = np.divide(100.0 * mt, total, out=np.zeros_like(total), where=total > 0)
    else:
        pct = np.full(adata.n_obs, np.nan)
    if normalised:
        total = np.full(adata.n_obs, np.nan)
    return pd.DataFrame(
        {"total_counts": total, "n_genes": genes, "pct_mito": pct}, index=adata.obs_names
    )


@dataclass(frozen=True)
class QcOptions:
    """Thresholds and switches of :func:`run_qc` (the ``qc`` section of the config).

    Parameters
    ----------
    nmads : float
        MADs around the per-sample median of ``log1p`` counts and genes.
    nmads_mito : float
        MADs above the per-sample median of % mitochondrial counts.
    max_pct_mito : float
        A cell above this % mitochondrial is removed whatever the MAD rule says.
    min_pct_mito : float
        A cell at or below this % mitochondrial is never removed for it (the MAD of a
        tight distribution would otherwise cut healthy cells).
    min_genes : int
        Absolute floor on genes detected.
    min_cells_per_gene : int
        Genes detected in fewer cells (after cell filtering) are dropped.
    doublets : bool
        Run scrublet per sample.
    min_cells_doublets : int
        Samples with fewer cells are not screened for doublets (recorded in the summary).
    seed : int
        Seed for scrublet.
    panel_min_genes_fraction : float
        Panel input: the ``min_genes`` floor becomes ``min(min_genes, ceil(fraction × genes
        in the panel))``.
    panel_doublets : bool
        Panel input: run scrublet too (its simulated doublets assume whole-transcriptome
        droplet data; off by default).
    sample_key : str
        obs column with the sample of each cell.
    input_mode : str
        ``counts``, ``normalised`` or ``panel`` (:mod:`tmesig.input_mode`).
    panel_genes : int
        Genes in the panel (``panel`` mode; 0: the matrix's genes).
    """

    nmads: float = 5.0
    nmads_mito: float = 3.0
    max_pct_mito: float = 25.0
    min_pct_mito: float = 5.0
    min_genes: int = 200
    min_cells_per_gene: int = 3
    doublets: bool = True
    min_cells_doublets: int = 100
    seed: int = 0
    panel_min_genes_fraction: float = 0.02
    panel_doublets: bool = False
    sample_key: str = "sample"
    input_mode: str = COUNTS
    panel_genes: int = 0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "QcOptions":
        """Options from the config's ``qc`` section (every field but the last three required).

        Parameters
        ----------
        section : mapping
            ``config["qc"]`` after schema defaults are filled in.

        Returns
        -------
        QcOptions
        """
        skip = ("sample_key", "input_mode", "panel_genes")
        return cls(**{f.name: section[f.name] for f in fields(cls) if f.name not in skip})

    def min_genes_floor(self, n_genes: int) -> int:
        """The absolute genes-detected floor: ``min_genes``, scaled down for a panel.

        Parameters
        ----------
        n_genes : int
            Genes in the matrix (used when ``panel_genes`` is 0).

        Returns
        -------
        int
        """
        if self.input_mode != PANEL:
            return int(self.min_genes)
        panel = self.panel_genes or n_genes
        return int(min(self.min_genes, np.ceil(self.panel_min_genes_fraction * panel)))

    def doublet_skip_reason(self) -> str | None:
        """Why doublets are not screened in this mode, or ``None`` when they are."""
        if not self.doublets:
            return "skipped: qc.doublets is false"
        if self.input_mode == NORMALISED:
            return "skipped: input normalised (scrublet needs counts)"
        if self.input_mode == PANEL and not self.panel_doublets:
            return "skipped: targeted panel (qc.panel_doublets is false)"
        return None


def run_qc(
    adata: ad.AnnData, *, options: QcOptions | None = None
) -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame]:
    """Flag and remove low-quality cells and doublets, sample by sample.

    Parameters
    ----------
    adata
        Ingested data: counts in ``layers["counts"]`` and ``obs[options.sample_key]``.
    options
        Thresholds (default :class:`QcOptions` ()).

    Returns
    -------
    filtered, metrics, summary
        The kept cells (and genes), a per-cell table of metrics, flags and the reason each
        removed cell was removed, and a per-sample table of thresholds and counts.

    Raises
    ------
    InputError
        When no cell passes.
    """
    opts = QcOptions() if options is None else options
    normalised = opts.input_mode == NORMALISED
    m = qc_metrics(adata, normalised=normalised)
    m.insert(0, "sample", adata.obs[opts.sample_key].astype(str).to_numpy())
    m["log_counts"] = np.log1p(m["total_counts"])
    m["log_genes"] = np.log1p(m["n_genes"])
    m["doublet_score"] = np.nan
    m["predicted_doublet"] = False
    reasons = _Reasons(m.index)
    floor = opts.min_genes_floor(adata.n_vars)
    rows = [_sample_thresholds(m, sample, reasons, opts, floor) for sample in _samples(m)]
    skip = opts.doublet_skip_reason()
    for row in rows:
        if skip is None:
            _screen_doublets(adata, m, row, opts)
        else:
            row["doublets"] = skip
    reasons.add(m["predicted_doublet"].to_numpy().astype(bool), "doublet")
    m["removed_reason"] = reasons.series.replace("", "kept")
    m["kept"] = reasons.series.to_numpy() == ""
    summary = _summary(m, rows)
    summary.insert(1, "input_mode", opts.input_mode)
    out = _filtered(adata, m, opts.min_cells_per_gene)
    m = m.drop(columns=["log_counts", "log_genes"])
    m.index.name = "cell"
    return out, m, summary


class _Reasons:
    """The ``;``-joined reasons each cell is removed (empty: kept)."""

    def __init__(self, index: pd.Index) -> None:
        self.series = pd.Series([""] * len(index), index=index, dtype=object)

    def add(self, mask: np.ndarray, label: str) -> None:
        idx = self.series.index[mask]
        self.series.loc[idx] = [f"{r};{label}" if r else label for r in self.series.loc[idx]]


def _samples(m: pd.DataFrame) -> list[Any]:
    return [sample for sample, _ in m.groupby("sample", sort=True, observed=True)]


def _mad_rule(
    m: pd.DataFrame, sel: np.ndarray, column: str, nmads: float
) -> tuple[float, float, str]:
    """Median ± ``nmads`` MAD of ``m[column]`` over ``sel``; NaN bounds when the MAD is ~0."""
    values = m.loc[sel, column].to_numpy()
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    if mad < MIN_MAD:
        share = float(np.mean(np.abs(values - med) < MIN_MAD))
        return np.nan, np.nan, f"skipped: MAD 0 ({share:.0%} of cells share the median)"
    return med - nmads * mad, med + nmads * mad, "applied"


def _sample_thresholds(
    m: pd.DataFrame, sample: Any, reasons: _Reasons, opts: QcOptions, floor: int
) -> dict[str, Any]:
    """Apply one sample's count, gene and mitochondrial thresholds; return its summary row."""
    sel = m["sample"].to_numpy() == sample
    row: dict[str, Any] = {"sample": sample, "cells_in": int(sel.sum())}
    if opts.input_mode == NORMALISED:
        lo_c, hi_c, row["count_filter"] = np.nan, np.nan, "skipped: input normalised (no counts)"
    else:
        lo_c, hi_c, row["count_filter"] = _mad_rule(m, sel, "log_counts", opts.nmads)
    lo_g, hi_g, row["gene_filter"] = _mad_rule(m, sel, "log_genes", opts.nmads)
    if opts.input_mode == PANEL:  # a panel's totals follow its gene choice, not doublets
        hi_c = hi_g = np.nan
        for key in ("count_filter", "gene_filter"):
            if row[key] == "applied":
                row[key] = "applied: lower bound only (panel)"
    # comparisons with NaN bounds are False: a skipped rule removes nothing
    reasons.add(sel & (m["log_counts"].to_numpy() < lo_c), "low_counts")
    reasons.add(sel & (m["log_counts"].to_numpy() > hi_c), "high_counts")
    reasons.add(sel & (m["log_genes"].to_numpy() < lo_g), "low_genes")
    reasons.add(sel & (m["log_genes"].to_numpy() > hi_g), "high_genes")
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
    pct = m.loc[sel, "pct_mito"].to_numpy()
    if np.all(np.isnan(pct)):
        row["max_pct_mito"] = np.nan
        row["mito_filter"] = "skipped: no MT- genes in the matrix"
        return row
    _, hi_m, status = _mad_rule(m, sel, "pct_mito", opts.nmads_mito)
    if status == "applied":
        cut = min(max(hi_m, opts.min_pct_mito), opts.max_pct_mito)
    else:  # MAD 0: only the hard ceiling
        cut, status = float(opts.max_pct_mito), f"{status}; ceiling qc.max_pct_mito only"
    reasons.add(sel & (m["pct_mito"].to_numpy() > cut), "high_mito")
    row["max_pct_mito"] = float(cut)
    row["mito_filter"] = status
    return row


def _screen_doublets(
    adata: ad.AnnData, m: pd.DataFrame, row: dict[str, Any], opts: QcOptions
) -> None:
    """Scrublet on one sample (``row``): scores and calls into ``m``, the outcome into ``row``."""
    sel = np.flatnonzero(m["sample"].to_numpy() == row["sample"])
    if len(sel) < opts.min_cells_doublets:
        row["doublets"] = f"skipped: {len(sel)} cells < {opts.min_cells_doublets}"
        return
    sub = ad.AnnData(X=sp.csr_matrix(adata.layers["counts"][sel]), var=adata.var[[]])
    sub.obs_names = adata.obs_names[sel]
    sc.pp.scrublet(sub, random_state=opts.seed, verbose=False)
    m.loc[sub.obs_names, "doublet_score"] = sub.obs["doublet_score"].to_numpy()
    pred = sub.obs["predicted_doublet"].to_numpy().astype(bool)
    m.loc[sub.obs_names, "predicted_doublet"] = pred
    row["doublets"] = "applied"
    row["doublet_threshold"] = float(sub.uns["scrublet"]["threshold"])


def _summary(m: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Per-sample thresholds, cells kept and removed, and cells removed for each reason."""
    summary = pd.DataFrame(rows)
    kept_per = m.groupby("sample", observed=True)["kept"].sum()
    summary["cells_kept"] = summary["sample"].map(kept_per).astype(int)
    summary["cells_removed"] = summary["cells_in"] - summary["cells_kept"]
    for label in _REASONS:
        per = m.groupby("sample", observed=True)["removed_reason"].apply(
            lambda s, lab=label: int(s.str.split(";").apply(lambda r: lab in r).sum())
        )
        summary[f"n_{label}"] = summary["sample"].map(per).astype(int)
    return summary


def _filtered(adata: ad.AnnData, m: pd.DataFrame, min_cells_per_gene: int) -> ad.AnnData:
    """The kept cells, genes seen in at least ``min_cells_per_gene`` of them, with metrics."""
    out = adata[m["kept"].to_numpy()].copy()
    if out.n_obs == 0:
        msg = (
            "QC removed every cell; loosen config qc.nmads / qc.min_genes or check the input matrix"
        )
        raise InputError(msg)
    x = out.layers["counts"] if "counts" in out.layers else out.X
    x = sp.csc_matrix(x)
    x.eliminate_zeros()
    gene_cells = np.diff(x.indptr)
    out = out[:, gene_cells >= min_cells_per_gene].copy()
    for col in ("total_counts", "n_genes", "pct_mito", "doublet_score"):
        out.obs[col] = m.loc[out.obs_names, col].to_numpy()
    return out
