"""QC figure: per-sample metric distributions with their thresholds, and why cells were removed."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .text import natural_key

__all__ = ["REASON_LABELS", "qc_violins"]

#: Removal reasons of ``qc_metrics.tsv`` (``removed_reason``), in the order QC tests them,
#: with their plain-language labels.
REASON_LABELS = {
    "low_counts": "too few counts",
    "high_counts": "too many counts",
    "low_genes": "too few genes",
    "high_genes": "too many genes",
    "below_min_genes": "below qc.min_genes",
    "high_mito": "high % mitochondrial",
    "doublet": "doublet (scrublet)",
}

#: (metric column, log scale, y label, (lower, upper) threshold columns of ``qc_summary.tsv``).
_PANELS = (
    (
        "total_counts",
        True,
        "counts per cell, log10(1 + x)",
        ("min_total_counts", "max_total_counts"),
    ),
    ("n_genes", True, "genes detected per cell, log10(1 + x)", ("min_genes", "max_genes")),
    ("pct_mito", False, "% mitochondrial counts", (None, "max_pct_mito")),
)


def _reasons(metrics: pd.DataFrame) -> pd.Series:
    """Cells removed for each reason (a cell with two reasons counts for both)."""
    if "removed_reason" not in metrics.columns:
        return pd.Series(dtype=int)
    removed = metrics.loc[~metrics["kept"].astype(bool), "removed_reason"].astype(str)
    counts = removed.str.split(";").explode().value_counts()
    order = [r for r in REASON_LABELS if r in counts.index]
    order += sorted(r for r in counts.index if r not in REASON_LABELS)
    return counts.reindex(order).astype(int)


def _thresholds(ax, summary, samples, cols, log) -> bool:
    """Draw each sample's thresholds as short dashed lines over its violin."""
    if summary is None or "sample" not in summary.columns:
        return False
    rows = summary.assign(sample=summary["sample"].astype(str)).set_index("sample")
    drawn = False
    for k, s in enumerate(samples):
        for col in cols:
            if col is None or col not in rows.columns or s not in rows.index:
                continue
            t = float(rows.at[s, col])
            if np.isfinite(t):
                y = np.log10(t + 1) if log else t
                ax.hlines(y, k + 0.6, k + 1.4, colors="black", linestyles="--", lw=1.2,
                          label=None if drawn else "threshold")  # fmt: skip
                drawn = True
    return drawn


def qc_violins(metrics: pd.DataFrame, *, summary: pd.DataFrame | None = None) -> Figure:
    """Per-sample distributions of counts, genes and % mitochondrial, thresholds, removals.

    Parameters
    ----------
    metrics : pandas.DataFrame
        The QC stage's ``qc_metrics.tsv``: ``sample``, ``total_counts``, ``n_genes``,
        ``pct_mito``, ``kept`` and ``removed_reason``.
    summary : pandas.DataFrame, optional
        The QC stage's ``qc_summary.tsv``: each sample's thresholds (``min_total_counts``,
        ``max_total_counts``, ``min_genes``, ``max_genes``, ``max_pct_mito``), drawn as
        dashed lines over its violin.

    Returns
    -------
    matplotlib.figure.Figure
        A violin panel per metric that has values (% mitochondrial is left out, and the title
        says so, when the matrix has no MT- genes), removed cells as red points, and a panel
        of the cells removed per reason (left out, and the title says so, when QC removed none).
    """
    samples = sorted(metrics["sample"].astype(str).unique(), key=natural_key)
    sample_of = metrics["sample"].astype(str)
    panels = [p for p in _PANELS if p[0] in metrics and metrics[p[0]].notna().any()]
    reasons = _reasons(metrics)
    n = len(panels) + (1 if len(reasons) else 0)
    width = max(4.5, 0.55 * len(samples) + 2.5)
    fig, axes = plt.subplots(1, n, figsize=(width * len(panels) + 4.5 * (n - len(panels)), 4.8),
                             squeeze=False)  # fmt: skip
    rng = np.random.default_rng(0)
    kept = metrics["kept"].astype(bool).to_numpy()
    for ax, (col, log, ylabel, cols) in zip(axes[0], panels, strict=False):
        vals = metrics[col].to_numpy(dtype=float)
        vals = np.log10(vals + 1) if log else vals
        per = [vals[(sample_of == s).to_numpy() & np.isfinite(vals)] for s in samples]
        ax.violinplot([v if len(v) else [np.nan] for v in per], showmedians=True)
        for k, s in enumerate(samples):
            y = vals[(sample_of == s).to_numpy() & ~kept]
            ax.scatter(k + 1 + rng.uniform(-0.15, 0.15, len(y)), y, s=4, c="red",
                       label="removed cell" if k == 0 else None, zorder=3)  # fmt: skip
        _thresholds(ax, summary, samples, cols, log)
        ax.set_xticks(range(1, len(samples) + 1), samples, rotation=45, fontsize=8)
        ax.set_xlabel("sample")
        ax.set_ylabel(ylabel)
        ax.set_title(ylabel.split(",")[0], fontsize=10)
    if len(panels):
        axes[0, 0].legend(fontsize=7, frameon=False)
    if len(reasons):
        ax = axes[0, -1]
        labels = [REASON_LABELS.get(r, r) for r in reasons.index]
        bars = ax.barh(labels[::-1], reasons.to_numpy()[::-1], color="#d62728", height=0.6)
        ax.set_ylim(-1, len(labels))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.bar_label(bars, fontsize=8, padding=2)
        ax.set_xlabel("cells removed (all samples)")
        ax.set_ylabel("reason")
        ax.set_title(f"Why {int((~kept).sum()):,} of {len(kept):,} cells were removed", fontsize=10)
        ax.margins(x=0.2)
    fig.suptitle(_note(metrics, panels, reasons), fontsize=10)
    fig.tight_layout()
    return fig


def _note(metrics: pd.DataFrame, panels, reasons: pd.Series) -> str:
    """The figure title: what QC did, and what is not shown and why."""
    parts = ["QC per sample: dashed lines are each sample's thresholds"]
    if "pct_mito" not in [p[0] for p in panels]:
        parts.append("% mitochondrial not shown: the matrix has no MT- genes")
    if not len(reasons):
        parts.append("no cell was removed")
    return "; ".join(parts)
