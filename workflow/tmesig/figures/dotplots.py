"""Dot plots (scanpy): the card genes by compartment, subset markers by subset.

Each gene's colour is scaled to its own range across the groups (``standard_scale="var"``),
so a gene expressed at a low level (NT5E, LAG3) is as readable as a highly expressed one
(B2M); the colour bar says so. Dot size is the fraction of cells expressing the gene.
"""

from collections.abc import Mapping, Sequence

import anndata as ad
import matplotlib.pyplot as plt
import scanpy as sc
from matplotlib.figure import Figure

__all__ = ["SCALED_LABEL", "dotplot_genes", "marker_dotplot"]

#: Colour-bar label of the per-gene scaled dot plots.
SCALED_LABEL = "mean expression,\nscaled per gene\n(0 = lowest group,\n1 = highest group)"


def _dotplot(
    adata: ad.AnnData, genes: Sequence[str] | Mapping[str, Sequence[str]], *, groupby: str,
    title: str,
) -> Figure:  # fmt: skip
    n_genes = len(genes) if not isinstance(genes, Mapping) else sum(map(len, genes.values()))
    n_groups = adata.obs[groupby].nunique()
    figsize = (max(7.0, 0.45 * n_genes + 4.5), max(3.5, 0.32 * n_groups + 2.2))
    dp = sc.pl.dotplot(
        adata, genes, groupby=groupby, use_raw=False, standard_scale="var", title=title,
        colorbar_title=SCALED_LABEL, size_title="fraction of cells\nexpressing the gene (%)",
        figsize=figsize, return_fig=True, show=False,
    )  # fmt: skip
    dp.make_figure()
    return dp.fig


def dotplot_genes(adata: ad.AnnData, genes: Sequence[str], *, groupby: str) -> Figure:
    """Dot plot of ``genes`` by ``groupby``, colour scaled per gene; absent genes named.

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
        The dot plot, titled with the genes absent from the data; a one-line note alone
        when no gene is in ``adata.var_names``.
    """
    present = [g for g in genes if g in adata.var_names]
    absent = [g for g in genes if g not in adata.var_names]
    title = "absent from this dataset: " + ", ".join(absent) if absent else "all card genes present"
    if not present:
        fig = plt.figure(figsize=(6, 1.2))
        fig.text(0.5, 0.5, title, ha="center", va="center")
        return fig
    return _dotplot(adata, present, groupby=groupby, title=title)


def marker_dotplot(
    adata: ad.AnnData,
    *,
    markers: Mapping[str, Sequence[str]],
    groupby: str = "subset",
    max_genes: int = 4,
) -> Figure:
    """Dot plot of up to ``max_genes`` present markers per group, colour scaled per gene.

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
        The dot plot, genes grouped under their subset's name.

    Raises
    ------
    ValueError
        If no marker of any present group is in ``var_names``.
    """
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
    return _dotplot(work, present, groupby=groupby, title="subset markers by subset")
