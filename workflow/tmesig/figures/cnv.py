"""Inferred copy-number heatmap, rows annotated by lineage, reference use, CNV call and author
label."""

from collections.abc import Mapping, Sequence

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .colors import CNV_COLORS, NEUTRAL, compartment_colors
from .text import natural_key

__all__ = ["REFERENCE_COLORS", "cnv_heatmap"]

_TITLES = {
    "lineage": "lineage",
    "cnv_reference": "CNV reference",
    "cnv_call": "CNV call",
    "author_label": "author label",
}
#: Colours of the ``cnv_reference`` bar: baseline / held-out reference, removed, queried.
REFERENCE_COLORS = {
    "reference": "#4d4d4d",
    "removed from reference": "#e7298a",
    "query": "#f0f0f0",
}


def _colors(key: str, labels: np.ndarray, parents: Mapping[str, str] | None) -> dict[str, str]:
    if key == "cnv_call":
        return {x: CNV_COLORS.get(x, NEUTRAL) for x in set(labels)}
    if key == "cnv_reference":
        return {x: REFERENCE_COLORS.get(x, NEUTRAL) for x in set(labels)}
    # author labels too: their colours then never repeat a lineage's colour
    return compartment_colors(labels, parents=parents)


def _rows(adata: ad.AnnData, keys: Sequence[str], max_cells: int, seed: int) -> np.ndarray:
    """Row order: a seeded subsample, sorted by the annotations (then kept in input order)."""
    idx = np.arange(adata.n_obs)
    if adata.n_obs > max_cells:
        idx = np.sort(np.random.default_rng(seed).choice(adata.n_obs, max_cells, replace=False))
    cols = [adata.obs[k].astype(str).to_numpy()[idx] for k in keys]
    ranks = []
    for c in cols:
        cats = sorted(set(c), key=natural_key)
        ranks.append(np.array([cats.index(x) for x in c]))
    return idx[np.lexsort([idx, *ranks[::-1]])]


def cnv_heatmap(
    adata: ad.AnnData,
    *,
    annotations: Sequence[str] = ("lineage", "cnv_reference", "cnv_call", "author_label"),
    max_cells: int = 3000,
    seed: int = 0,
    parents: Mapping[str, str] | None = None,
) -> Figure:
    """Chromosome heatmap of ``obsm['X_cnv']`` with annotation bars (after ``call_malignant``).

    Parameters
    ----------
    adata : anndata.AnnData
        With ``obsm['X_cnv']``, ``uns['cnv']['chr_pos']`` and the ``obs`` columns named in
        ``annotations``.
    annotations : sequence of str
        ``obs`` columns drawn as colour bars left of the heatmap, rows sorted by them in this
        order; columns absent from ``obs`` are skipped (e.g. ``author_label`` when the sheet
        names no ``label_col``); ``cnv_reference``: the purified reference's cells.
    max_cells : int
        Seeded subsample for speed and size.
    seed : int
        Subsampling seed.
    parents : Mapping of str to str, optional
        Subset -> parent lineage, for subset annotations' colours.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: cells; columns: genomic windows in chromosome order (chromosomes labelled and
        separated); colour: inferred copy number relative to the reference (blue loss, red
        gain); a legend per annotation.

    Raises
    ------
    ValueError
        If ``obsm['X_cnv']`` or ``uns['cnv']`` is missing, or no annotation column is in ``obs``.
    """
    keys = [k for k in annotations if k in adata.obs]
    if "X_cnv" not in adata.obsm or "cnv" not in adata.uns or not keys:
        msg = (
            f"adata needs obsm['X_cnv'], uns['cnv'] and one of obs{list(annotations)}; "
            "run tmesig.cnv.call_malignant first."
        )
        raise ValueError(msg)
    rows = _rows(adata, keys, max_cells, seed)
    x = adata.obsm["X_cnv"][rows]
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    lim = float(np.nanpercentile(np.abs(x), 99)) or 1.0
    fig = plt.figure(figsize=(15, 8))
    grid = fig.add_gridspec(1, len(keys) + 2, width_ratios=[0.35] * len(keys) + [14, 0.25],
                            wspace=0.04)  # fmt: skip
    handles = []
    for j, key in enumerate(keys):
        ax = fig.add_subplot(grid[0, j])
        labels = adata.obs[key].astype(str).to_numpy()[rows]
        colors = _colors(key, labels, parents)
        cats = sorted(colors, key=natural_key)
        codes = np.array([cats.index(v) for v in labels])[:, None]
        ax.imshow(codes, aspect="auto", interpolation="nearest",
                  cmap=ListedColormap([colors[c] for c in cats]), vmin=-0.5,
                  vmax=len(cats) - 0.5)  # fmt: skip
        ax.set_xticks([0], [_TITLES.get(key, key)], rotation=90, fontsize=8)
        ax.set_yticks([])
        if j == 0:
            ax.set_ylabel(
                f"{len(rows):,} cells (sorted by {', '.join(_TITLES.get(k, k) for k in keys)})"
            )
        handles.append((_TITLES.get(key, key), [Patch(color=colors[c], label=c) for c in cats]))
    ax = fig.add_subplot(grid[0, len(keys)])
    im = ax.imshow(x, aspect="auto", interpolation="nearest", cmap="bwr", vmin=-lim, vmax=lim)
    _chromosomes(ax, adata.uns["cnv"]["chr_pos"], x.shape[1])
    ax.set_yticks([])
    fig.colorbar(im, cax=fig.add_subplot(grid[0, -1]), label="inferred copy number (vs reference)")
    for k, (title, patches) in enumerate(handles):
        fig.legend(handles=patches, title=title, loc="upper left", fontsize=7, title_fontsize=8,
                   bbox_to_anchor=(0.92 + 0.105 * k, 0.88), frameon=False,
                   ncols=1 + len(patches) // 25)  # fmt: skip
    fig.suptitle("Inferred copy number per cell (infercnvpy), by lineage and call", fontsize=12)
    return fig


def _chromosomes(ax: plt.Axes, chr_pos: Mapping[str, int], n_windows: int) -> None:
    """Chromosome separators and names (on top) of the window axis."""
    items = sorted(((int(v), str(k)) for k, v in dict(chr_pos).items()))
    starts = [p for p, _ in items] + [n_windows]
    for p in starts[1:-1]:
        ax.axvline(p - 0.5, color="black", lw=0.5)
    mids = [(a + b) / 2 for a, b in zip(starts[:-1], starts[1:], strict=True)]
    ax.set_xticks(mids, [name.removeprefix("chr") for _, name in items], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_xlabel("chromosome (genomic windows in order)")
