"""Report helpers: the figures of the HTML report, each drawn from the stage outputs.

Every function takes in-memory tables or an AnnData and returns a
:class:`matplotlib.figure.Figure`; nothing here computes a statistic that the tables do
not already hold. Compartments are coloured by :data:`PALETTE` (keyed by
:data:`tmesig.constants.LINEAGES`, ``malignant`` and ``unassigned``).
"""

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import anndata as ad
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scanpy as sc
from matplotlib.figure import Figure

from .constants import LINEAGES, MALIGNANT, UNASSIGNED

__all__ = [
    "PALETTE",
    "compartment_colors",
    "composition_bars",
    "dotplot_genes",
    "forest_conditions",
    "heatmap_compartment_sets",
    "qc_violins",
    "umap_categorical",
    "umap_scores",
]

#: Fixed colour of every lineage (in :data:`tmesig.constants.LINEAGES` order), then
#: ``malignant`` and ``unassigned``.
PALETTE: Mapping[str, str] = MappingProxyType(
    dict(
        zip(
            (*LINEAGES, MALIGNANT, UNASSIGNED),
            (
                "#1f77b4",
                "#9467bd",
                "#d62728",
                "#e377c2",
                "#ff9896",
                "#2ca02c",
                "#ff7f0e",
                "#8c564b",
                "#17becf",
                "#c7c7c7",
            ),
            strict=True,
        )
    )
)


def compartment_colors(labels: Sequence[str]) -> dict[str, str]:
    """A fixed colour per compartment name (stable across datasets).

    Parameters
    ----------
    labels : sequence of str
        Compartment labels (repeats allowed).

    Returns
    -------
    dict of str to str
        Each distinct label, sorted, -> hex colour: the :data:`PALETTE` colour for known
        compartments, else the next ``tab20`` colour in sorted order of the unknown labels.
    """
    extra = plt.get_cmap("tab20").colors
    out, k = {}, 0
    for lab in sorted(set(map(str, labels))):
        if lab in PALETTE:
            out[lab] = PALETTE[lab]
        else:
            out[lab] = matplotlib.colors.to_hex(extra[k % len(extra)])
            k += 1
    return out


def umap_categorical(
    umap: np.ndarray, labels: Sequence[str], *, title: str, ax: plt.Axes | None = None
) -> Figure:
    """Scatter of the UMAP coloured by a categorical label, with counts in the legend.

    Parameters
    ----------
    umap : numpy.ndarray
        ``(n_cells, 2)`` coordinates.
    labels : sequence of str
        One label per cell; colours from :func:`compartment_colors`.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 6.5 x 5.5 in figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.
    """
    fig = ax.figure if ax is not None else plt.figure(figsize=(6.5, 5.5))
    ax = ax if ax is not None else fig.add_subplot(1, 1, 1)
    labels = np.asarray(labels, dtype=str)
    colors = compartment_colors(labels)
    for lab in sorted(colors):
        sel = labels == lab
        ax.scatter(
            umap[sel, 0],
            umap[sel, 1],
            s=3,
            c=colors[lab],
            label=f"{lab} ({sel.sum()})",
            linewidths=0,
        )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("UMAP1")
    ax.set_ylabel("UMAP2")
    ax.legend(markerscale=4, fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def umap_scores(
    umap: np.ndarray, scores: pd.DataFrame, *, sets: Sequence[str], ncols: int = 3
) -> Figure:
    """One UMAP panel per set, coloured by the score (clipped at the 1st/99th percentiles).

    Parameters
    ----------
    umap : numpy.ndarray
        ``(n_cells, 2)`` coordinates, rows aligned with ``scores``.
    scores : pandas.DataFrame
        One column per set.
    sets : sequence of str
        Sets to show, in panel order; sets absent from ``scores`` are skipped.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per shown set (unused panels hidden), or a note when none is shown.
    """
    sets = [s for s in sets if s in scores.columns]
    n = max(len(sets), 1)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    order = None
    for ax, name in zip(axes.ravel(), sets, strict=False):
        v = scores[name].to_numpy()
        lo, hi = np.nanpercentile(v, [1, 99])
        order = np.argsort(v, kind="stable")
        im = ax.scatter(
            umap[order, 0],
            umap[order, 1],
            c=v[order],
            s=2,
            cmap="viridis",
            vmin=lo,
            vmax=hi,
            linewidths=0,
        )
        fig.colorbar(im, ax=ax, shrink=0.7)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(sets) :]:
        ax.axis("off")
    if not sets:
        axes[0, 0].text(0.5, 0.5, "no scored set to show", ha="center", va="center")
    fig.tight_layout()
    return fig


def dotplot_genes(adata: ad.AnnData, genes: Sequence[str], *, groupby: str) -> Figure:
    """scanpy dotplot of ``genes`` by ``groupby``; genes absent from the data named in the title.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised expression in ``X``.
    genes : sequence of str
        Genes to show (e.g. :func:`tmesig.signatures.card_genes`).
    groupby : str
        Categorical ``obs`` column.

    Returns
    -------
    matplotlib.figure.Figure
        The dotplot, or a text-only figure when no gene is in ``adata.var_names``.
    """
    present = [g for g in genes if g in adata.var_names]
    absent = [g for g in genes if g not in adata.var_names]
    title = "absent from this dataset: " + ", ".join(absent) if absent else "all card genes present"
    if not present:
        fig = plt.figure(figsize=(6, 2))
        fig.text(0.5, 0.5, title, ha="center", va="center")
        return fig
    dp = sc.pl.dotplot(adata, present, groupby=groupby, use_raw=False, return_fig=True, title=title)
    dp.make_figure()
    return dp.fig


def heatmap_compartment_sets(compartments: pd.DataFrame, flags: pd.DataFrame) -> Figure:
    """Compartment × set heatmap of sample-averaged scores, z-scored per set; flagged cells starred.

    Parameters
    ----------
    compartments : pandas.DataFrame
        The flag stage's ``compartments.tsv`` (compartment, sample, n_cells, one column per set).
    flags : pandas.DataFrame
        The flag stage's ``flags.tsv`` (``compartment``, ``set``, ``flagged``).

    Returns
    -------
    matplotlib.figure.Figure
        Rows: compartments other than ``unassigned``; columns: sets.
    """
    sets = [c for c in compartments.columns if c not in ("compartment", "sample", "n_cells")]
    comp = compartments[compartments["compartment"] != UNASSIGNED]
    means = comp.groupby("compartment", sort=True)[sets].mean()
    z = (means - means.mean(axis=0)) / means.std(axis=0, ddof=0).replace(0, np.nan)
    z = z.fillna(0.0)
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(sets) + 3), 0.45 * len(means) + 2.5))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(range(len(sets)), sets, rotation=90, fontsize=7)
    ax.set_yticks(range(len(means)), means.index, fontsize=8)
    flagged = set()
    if not flags.empty:
        f = flags[flags["flagged"].astype(bool)]
        flagged = set(zip(f["compartment"], f["set"], strict=True))
    for i, c in enumerate(means.index):
        for j, s in enumerate(sets):
            if (c, s) in flagged:
                ax.text(j, i, "*", ha="center", va="center", fontsize=12, color="black")
    fig.colorbar(im, ax=ax, shrink=0.8, label="z-score across compartments")
    ax.set_title("Mean score per compartment (sample means); * = flagged")
    fig.tight_layout()
    return fig


def qc_violins(metrics: pd.DataFrame) -> Figure:
    """Per-sample distributions of counts, genes and % mitochondrial; removed cells in red.

    Parameters
    ----------
    metrics : pandas.DataFrame
        The QC stage's ``qc_metrics.tsv``: ``sample``, ``total_counts``, ``n_genes``,
        ``pct_mito``, ``kept``.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels; a metric that is all NaN is replaced by a note.
    """
    cols = [("total_counts", True), ("n_genes", True), ("pct_mito", False)]
    samples = sorted(metrics["sample"].astype(str).unique())
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    rng = np.random.default_rng(0)
    for ax, (col, log) in zip(axes, cols, strict=True):
        vals = [
            metrics.loc[metrics["sample"].astype(str) == s, col].to_numpy(dtype=float)
            for s in samples
        ]
        if all(np.all(np.isnan(v)) for v in vals):
            ax.text(
                0.5,
                0.5,
                f"{col}: not available\n(no MT- genes in the matrix)",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        vals_t = [np.log10(v + 1) if log else v for v in vals]
        ax.violinplot([v[~np.isnan(v)] for v in vals_t], showmedians=True)
        for k, s in enumerate(samples):
            sub = metrics[metrics["sample"].astype(str) == s]
            rem = sub[~sub["kept"].astype(bool)]
            y = rem[col].to_numpy(dtype=float)
            y = np.log10(y + 1) if log else y
            ax.scatter(
                k + 1 + rng.uniform(-0.15, 0.15, len(y)),
                y,
                s=3,
                c="red",
                label="removed" if k == 0 else None,
            )
        ax.set_xticks(range(1, len(samples) + 1), samples, rotation=45, fontsize=8)
        ax.set_title(("log10 " if log else "") + col)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def forest_conditions(table: pd.DataFrame, *, top: int = 30) -> Figure:
    """Forest plot of condition effects (test − reference, 95% CI) for the most significant rows.

    Parameters
    ----------
    table : pandas.DataFrame
        The conditions stage's table (``compartment``, ``set``, ``effect``, ``ci_low``,
        ``ci_high``, ``p``, ``significant``, ``test``, ``reference``; ``note``).
    top : int
        Rows shown, smallest ``p`` first.

    Returns
    -------
    matplotlib.figure.Figure
        The forest plot, or a note (with the table's ``note``) when nothing was tested.
    """
    tested = table[table["p"].notna()] if "p" in table.columns else table.iloc[0:0]
    if tested.empty:
        reason = "no condition comparison"
        if "note" in table.columns and len(table):
            reason += ": " + str(table["note"].iloc[0])
        fig = plt.figure(figsize=(8, 1.6))
        fig.text(0.5, 0.5, reason, ha="center", va="center", wrap=True)
        return fig
    rows = tested.sort_values(["p", "compartment", "set"], kind="stable").head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.6))
    y = np.arange(len(rows))
    colors = np.where(rows["significant"].astype(bool), "#d62728", "#555555")
    ax.errorbar(
        rows["effect"],
        y,
        xerr=[rows["effect"] - rows["ci_low"], rows["ci_high"] - rows["effect"]],
        fmt="none",
        ecolor=colors,
        elinewidth=1,
    )
    ax.scatter(rows["effect"], y, c=colors, s=18, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(
        y, [f"{c} · {s}" for c, s in zip(rows["compartment"], rows["set"], strict=True)], fontsize=7
    )
    r = rows.iloc[0]
    ax.set_xlabel(f"score difference {r['test']} − {r['reference']} (95% CI; red: FDR ≤ alpha)")
    ax.set_title("Condition effects with patients as the unit")
    fig.tight_layout()
    return fig


def composition_bars(table: pd.DataFrame) -> Figure:
    """Stacked bars of compartment fractions per patient, grouped by condition.

    Parameters
    ----------
    table : pandas.DataFrame
        Long table: ``condition``, ``patient``, ``compartment``, ``fraction``.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per (condition, patient), coloured by :func:`compartment_colors`.
    """
    wide = table.pivot_table(
        index=["condition", "patient"], columns="compartment", values="fraction", fill_value=0.0
    )
    wide = wide.sort_index()
    colors = compartment_colors(list(wide.columns))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(wide) + 3), 4.5))
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for comp in wide.columns:
        ax.bar(x, wide[comp].to_numpy(), bottom=bottom, color=colors[comp], label=comp, width=0.85)
        bottom += wide[comp].to_numpy()
    ax.set_xticks(
        x, [f"{p}\n{c}" if c != "NA" else p for c, p in wide.index], rotation=90, fontsize=7
    )
    ax.set_ylabel("fraction of assigned cells")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title("Compartment composition per patient")
    fig.tight_layout()
    return fig
