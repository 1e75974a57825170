"""UMAP figures: by a categorical label (compartment, subset, sample, CNV call) and by scores.

Colours come from :mod:`tmesig.figures.colors`, so a lineage has the same colour in every
UMAP, a subset a shade of its lineage, and ``unassigned`` is grey (drawn underneath).
"""

from collections.abc import Mapping, Sequence

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..constants import UNASSIGNED
from ..signatures import GeneSet
from .colors import CNV_COLORS, NEUTRAL, category_colors, compartment_colors
from .text import coverage_text, direction_text, natural_key, score_label

__all__ = ["umap_by", "umap_categorical", "umap_scores"]

#: Keys whose categories are compartments, subsets or states (coloured by lineage).
_BIOLOGICAL = ("compartment", "lineage", "subset", "final_subset", "cell_subset", "state")


def _style(ax: plt.Axes, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("UMAP1")
    ax.set_ylabel("UMAP2")


def umap_categorical(
    umap: np.ndarray,
    labels: Sequence[str],
    *,
    title: str,
    ax: plt.Axes | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Scatter of the UMAP coloured by a categorical label, with counts in the legend.

    Parameters
    ----------
    umap : numpy.ndarray
        ``(n_cells, 2)`` coordinates.
    labels : sequence of str
        One label per cell.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 7 x 5.5 in figure.
    colors : Mapping of str to str, optional
        Label -> colour; default :func:`tmesig.figures.colors.compartment_colors`. Labels
        missing from it are grey.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes. ``unassigned`` is drawn first (underneath); the legend
        lists every label, naturally sorted, with its number of cells.
    """
    fig = ax.figure if ax is not None else plt.figure(figsize=(7, 5.5))
    ax = ax if ax is not None else fig.add_subplot(1, 1, 1)
    labels = np.asarray(labels, dtype=str)
    colors = dict(colors) if colors is not None else compartment_colors(labels)
    order = sorted(set(labels), key=natural_key)
    order = [x for x in order if x == UNASSIGNED] + [x for x in order if x != UNASSIGNED]
    size = float(np.clip(20000 / max(len(labels), 1), 1, 12))
    for lab in order:
        sel = labels == lab
        ax.scatter(
            umap[sel, 0],
            umap[sel, 1],
            s=size,
            c=colors.get(lab, NEUTRAL),
            label=f"{lab} ({sel.sum():,})",
            linewidths=0,
            rasterized=True,
        )
    _style(ax, title)
    handles, texts = ax.get_legend_handles_labels()
    keep = [order.index(x) for x in sorted(order, key=natural_key)]
    ax.legend(
        [handles[k] for k in keep],
        [texts[k] for k in keep],
        markerscale=max(1.0, 6 / np.sqrt(size)),
        fontsize=7,
        frameon=False,
        loc="center left",
        bbox_to_anchor=(1, 0.5),
        ncols=1 + len(order) // 26,
    )
    return fig


def _key_colors(
    key: str, labels: Sequence[str], parents: Mapping[str, str] | None
) -> dict[str, str]:
    if key == "cnv_call":
        return {x: CNV_COLORS.get(x, NEUTRAL) for x in set(labels)}
    if key in _BIOLOGICAL:
        return compartment_colors(labels, parents=parents)
    return category_colors(labels)


def umap_by(
    adata: ad.AnnData,
    *,
    keys: Sequence[str] = ("lineage", "subset", "cnv_call"),
    basis: str = "X_umap",
    titles: Mapping[str, str] | None = None,
    parents: Mapping[str, str] | None = None,
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
    titles : Mapping of str to str, optional
        Panel title per key (default: the key).
    parents : Mapping of str to str, optional
        Subset / state -> parent lineage, for the colours of subset panels (see
        :func:`tmesig.figures.colors.state_colors`).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per present key. Compartment, lineage and subset keys take the lineage
        colours (subsets as shades of their lineage), ``cnv_call`` the CNV colours, other keys
        (sample, patient) scanpy's default colours; ``unassigned`` is grey everywhere.

    Raises
    ------
    ValueError
        If ``obsm[basis]`` is missing, or no key is in ``obs``.
    """
    if basis not in adata.obsm:
        msg = f"obsm[{basis!r}] not found; run clustering (UMAP) first."
        raise ValueError(msg)
    keys = [k for k in keys if k in adata.obs]
    if not keys:
        msg = "none of the requested keys is an obs column."
        raise ValueError(msg)
    titles = dict(titles or {})
    fig, axes = plt.subplots(1, len(keys), figsize=(7.5 * len(keys), 5.5), squeeze=False)
    xy = np.asarray(adata.obsm[basis])[:, :2]
    for ax, key in zip(axes[0], keys, strict=True):
        labels = adata.obs[key].astype(str).to_numpy()
        colors = _key_colors(key, labels, parents)
        umap_categorical(xy, labels, title=titles.get(key, key), ax=ax, colors=colors)
    fig.tight_layout()
    return fig


def umap_scores(
    umap: np.ndarray,
    scores: pd.DataFrame,
    *,
    sets: Sequence[GeneSet],
    coverage: pd.DataFrame | None = None,
    ncols: int = 4,
) -> Figure:
    """One UMAP panel per gene set, coloured by its score (clipped at the 1st/99th percentiles).

    Parameters
    ----------
    umap : numpy.ndarray
        ``(n_cells, 2)`` coordinates, rows aligned with ``scores``.
    scores : pandas.DataFrame
        One column per set.
    sets : sequence of GeneSet
        Sets to show, in panel order. A set absent from ``scores`` (not scored) gets no panel;
        the figure's title names it.
    coverage : pandas.DataFrame, optional
        The score stage's ``coverage.tsv`` (``set``, ``n_genes``, ``n_found``, ``method``):
        each title then says how many of the set's genes the data hold, and the colour bar
        names the scoring method.
    ncols : int
        Panels per row at most.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per scored set, titled with the set's title, its direction ("high =
        resistance" or "low = resistance") and its coverage, with a labelled colour bar;
        no empty panel (a note alone when no set is scored).
    """
    shown = [gs for gs in sets if gs.name in scores.columns]
    missing = [gs for gs in sets if gs.name not in scores.columns]
    n = max(len(shown), 1)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.2 * nrows + 0.6), squeeze=False)
    for ax in axes.ravel()[len(shown) :]:
        fig.delaxes(ax)
    for ax, gs in zip(axes.ravel(), shown, strict=False):
        v = scores[gs.name].to_numpy(dtype=float)
        lo, hi = np.nanpercentile(v, [1, 99]) if np.isfinite(v).any() else (0.0, 1.0)
        order = np.argsort(v, kind="stable")
        im = ax.scatter(
            umap[order, 0], umap[order, 1], c=v[order], s=2, cmap="viridis", vmin=lo, vmax=hi,
            linewidths=0, rasterized=True,
        )  # fmt: skip
        fig.colorbar(im, ax=ax, shrink=0.75, label=score_label(coverage))
        cov = coverage_text(gs, coverage)
        _style(ax, f"{gs.title}\n{direction_text(gs.direction)} · {cov}")
        ax.title.set_fontsize(9)
    if not shown:
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no set could be scored", ha="center", va="center", fontsize=12)
    if missing:
        names = "; ".join(f"{gs.title} ({coverage_text(gs, coverage)})" for gs in missing)
        fig.suptitle(f"Not scored (too few genes in the data): {names}", fontsize=9, wrap=True)
    fig.tight_layout()
    return fig
