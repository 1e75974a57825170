"""Annotation figures: confidence histograms, CNV score vs correlation."""

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .colors import CNV_COLORS

__all__ = ["cnv_scatter", "confidence_distribution"]


def confidence_distribution(
    tables: Mapping[str, pd.Series], *, thresholds: Mapping[str, float] | None = None
) -> Figure:
    """Histograms of confidences (e.g. ``{"lineage": cells.confidence, "subset": ...}``).

    Parameters
    ----------
    tables : Mapping of str to pandas.Series
        Name -> confidences in [0, 1], one panel each (NaN dropped).
    thresholds : Mapping of str to float, optional
        Name -> the threshold of that call (e.g. ``annotate.min_confidence`` for
        ``lineage``, ``subsets.min_confidence`` for ``subset``), drawn as a dashed line on
        its own panel only.

    Returns
    -------
    matplotlib.figure.Figure
        One histogram (25 bins over [0, 1]) per entry, with the number of cells below the
        threshold in the legend.
    """
    thresholds = dict(thresholds or {})
    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 3.8), squeeze=False)
    for ax, (name, values) in zip(axes[0], tables.items(), strict=True):
        v = pd.Series(values).dropna()
        ax.hist(v, bins=np.linspace(0, 1, 26), color="0.4")
        if name in thresholds:
            t = thresholds[name]
            below = int((v < t).sum())
            ax.axvline(t, color="crimson", ls="--", lw=1.2,
                       label=f"threshold {t:g}: {below:,} of {len(v):,} cells below")  # fmt: skip
            ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
        ax.set_title(f"{name} confidence")
        ax.set_xlabel("confidence")
        ax.set_ylabel("cells")
    fig.tight_layout()
    return fig


def cnv_scatter(calls: pd.DataFrame) -> Figure:
    """``cnv_score`` vs ``cnv_corr`` per cell, coloured by call, with the thresholds.

    Parameters
    ----------
    calls : pandas.DataFrame
        ``cnv_score``, ``cnv_corr``, ``cnv_call``; thresholds in ``attrs``
        (``score_threshold``, ``corr_threshold``; absent -> no line).

    Returns
    -------
    matplotlib.figure.Figure
        Calls coloured by :data:`tmesig.figures.colors.CNV_COLORS` (malignant as in every
        other figure), the thresholds as dashed lines.
    """
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for call in ("malignant", "uncertain", "non-malignant"):
        m = calls["cnv_call"].astype(str) == call
        ax.scatter(
            calls.loc[m, "cnv_score"], calls.loc[m, "cnv_corr"], s=4, color=CNV_COLORS[call],
            label=f"{call} ({int(m.sum()):,})", rasterized=True,
        )  # fmt: skip
    ax.axvline(calls.attrs.get("score_threshold", np.nan), color="k", ls="--", lw=0.8)
    ax.axhline(calls.attrs.get("corr_threshold", np.nan), color="k", ls="--", lw=0.8)
    ax.set_xlabel("CNV score (mean |CNV|)")
    ax.set_ylabel("correlation with CNV-cluster profile")
    ax.set_title("Malignant calls from inferred copy number (dashed: thresholds)")
    ax.legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    return fig
