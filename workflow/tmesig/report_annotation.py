"""Figures for the annotation stage (each function returns a matplotlib Figure).

* :func:`cnv_heatmap` — infercnvpy chromosome heatmap grouped by CNV call or cluster;
* :func:`umap_by` — UMAP coloured by lineage, subset, CNV call (one panel each);
* :func:`marker_dotplot` — subset marker genes by subset (scanpy dotplot);
* :func:`confidence_distribution` — histograms of lineage / subset confidence;
* :func:`cnv_scatter` — per-cell CNV score vs correlation with the thresholds.

All use the non-interactive Agg backend and close nothing the caller owns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import anndata as ad
    from matplotlib.figure import Figure

__all__ = [
    "cnv_heatmap",
    "cnv_scatter",
    "confidence_distribution",
    "marker_dotplot",
    "umap_by",
]


def cnv_heatmap(
    adata: ad.AnnData, *, groupby: str = "cnv_call", max_cells: int = 3000, seed: int = 0
) -> Figure:
    """Chromosome heatmap of ``obsm['X_cnv']`` (after :func:`tmesig.cnv.call_malignant`).

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm['X_cnv']``, ``uns['cnv']`` and ``obs[groupby]``.
    groupby : str
        ``obs`` column to group rows by (e.g. ``cnv_call``, ``cnv_cluster``, lineage).
    max_cells : int
        Seeded subsample for speed.
    seed : int
        Subsampling seed.

    Returns
    -------
    matplotlib.figure.Figure
        infercnvpy's chromosome heatmap.

    Raises
    ------
    ValueError
        If ``obsm['X_cnv']`` or ``obs[groupby]`` is missing.
    """
    import infercnvpy as cnv

    if "X_cnv" not in adata.obsm or groupby not in adata.obs:
        msg = (
            f"adata needs obsm['X_cnv'] and obs[{groupby!r}]; run tmesig.cnv.call_malignant first."
        )
        raise ValueError(msg)
    view = adata
    if adata.n_obs > max_cells:
        idx = np.sort(np.random.default_rng(seed).choice(adata.n_obs, max_cells, replace=False))
        view = adata[idx].copy()
    axes = cnv.pl.chromosome_heatmap(view, groupby=groupby, show=False, figsize=(14, 8))
    return next(iter(axes.values())).figure


def umap_by(
    adata: ad.AnnData,
    *,
    keys: Sequence[str] = ("lineage", "subset", "cnv_call"),
    basis: str = "X_umap",
) -> Figure:
    """UMAP panels coloured by categorical ``obs`` columns (missing keys are skipped).

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm[basis]``.
    keys : sequence of str
        ``obs`` columns, one panel each; columns absent from ``obs`` are skipped.
    basis : str
        ``obsm`` key of the embedding (first two columns used).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per present key; categories coloured by ``tab20`` with counts in the legend.

    Raises
    ------
    ValueError
        If ``obsm[basis]`` is missing.
    """
    if basis not in adata.obsm:
        msg = f"obsm[{basis!r}] not found; run clustering (UMAP) first."
        raise ValueError(msg)
    keys = [k for k in keys if k in adata.obs]
    fig, axes = plt.subplots(
        1, max(1, len(keys)), figsize=(6 * max(1, len(keys)), 5), squeeze=False
    )
    xy = np.asarray(adata.obsm[basis])[:, :2]
    for ax, key in zip(axes[0], keys, strict=False):
        cats = pd.Categorical(adata.obs[key].astype(str))
        cmap = plt.get_cmap("tab20", max(len(cats.categories), 1))
        for i, cat in enumerate(cats.categories):
            m = cats == cat
            ax.scatter(
                xy[m, 0],
                xy[m, 1],
                s=3,
                color=cmap(i),
                label=f"{cat} ({int(m.sum())})",
                rasterized=True,
            )
        ax.set_title(key)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(
            fontsize=6, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False
        )
    fig.tight_layout()
    return fig


def marker_dotplot(
    adata: ad.AnnData,
    *,
    markers: Mapping[str, Sequence[str]],
    groupby: str = "subset",
    max_genes: int = 4,
) -> Figure:
    """Scanpy dotplot of up to ``max_genes`` present markers per group.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised expression in ``X`` and ``obs[groupby]``.
    markers : Mapping of str to sequence of str
        Group -> marker genes; groups absent from ``obs[groupby]`` are skipped.
    groupby : str
        ``obs`` column of the groups.
    max_genes : int
        Markers shown per group (the first present ones).

    Returns
    -------
    matplotlib.figure.Figure
        The dotplot.

    Raises
    ------
    ValueError
        If no marker of any present group is in ``var_names``.
    """
    import scanpy as sc

    present = {
        k: [g for g in genes if g in adata.var_names][:max_genes]
        for k, genes in markers.items()
        if k in set(adata.obs[groupby].astype(str))
    }
    present = {k: v for k, v in present.items() if v}
    if not present:
        msg = f"No marker of the groups in obs[{groupby!r}] is in var_names."
        raise ValueError(msg)
    work = adata[:, sorted({g for v in present.values() for g in v})].copy()
    work.obs[groupby] = work.obs[groupby].astype(str).astype("category")
    dp = sc.pl.dotplot(work, present, groupby=groupby, show=False, return_fig=True)
    dp.make_figure()
    return dp.fig


def confidence_distribution(
    tables: Mapping[str, pd.Series], *, threshold: float | None = None
) -> Figure:
    """Histograms of confidences (e.g. ``{"lineage": cells.confidence, "subset": ...}``).

    Parameters
    ----------
    tables : Mapping of str to pandas.Series
        Name -> confidences in [0, 1], one panel each (NaN dropped).
    threshold : float, optional
        Drawn as a dashed line on every panel.

    Returns
    -------
    matplotlib.figure.Figure
        One histogram (25 bins over [0, 1]) per entry.
    """
    fig, axes = plt.subplots(1, len(tables), figsize=(4 * len(tables), 3.2), squeeze=False)
    for ax, (name, values) in zip(axes[0], tables.items(), strict=False):
        ax.hist(pd.Series(values).dropna(), bins=np.linspace(0, 1, 26), color="0.4")
        if threshold is not None:
            ax.axvline(threshold, color="crimson", ls="--", lw=1)
        ax.set_title(f"{name} confidence")
        ax.set_xlabel("confidence")
    axes[0][0].set_ylabel("cells")
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
        Malignant in crimson, uncertain in orange, non-malignant in grey.
    """
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    colours = {"malignant": "crimson", "uncertain": "orange", "non-malignant": "0.6"}
    for call, colour in colours.items():
        m = calls["cnv_call"].astype(str) == call
        ax.scatter(
            calls.loc[m, "cnv_score"],
            calls.loc[m, "cnv_corr"],
            s=3,
            color=colour,
            label=f"{call} ({int(m.sum())})",
        )
    ax.axvline(calls.attrs.get("score_threshold", np.nan), color="k", ls="--", lw=0.8)
    ax.axhline(calls.attrs.get("corr_threshold", np.nan), color="k", ls="--", lw=0.8)
    ax.set_xlabel("CNV score (mean |CNV|)")
    ax.set_ylabel("correlation with CNV-cluster profile")
    ax.legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    return fig
