"""Dot plot of the card genes by lineage and by cell state, in one figure (scanpy).

Every cell is drawn twice: once in its lineage (``T_NK``) and once in its state
(``CD8_exhausted (T_NK)``), so the rows of the plot are the lineages, then the states grouped
under their lineage; ``unassigned`` is not a row. Colour is scaled per gene over all rows,
as in :func:`~tmesig.figures.dotplots.dotplot_genes`, which draws it and names the genes the
dataset does not measure.
"""

from collections.abc import Sequence

import anndata as ad
import pandas as pd
import scipy.sparse as sp
from matplotlib.figure import Figure

from ..constants import LINEAGES, UNASSIGNED
from .dotplots import dotplot_genes
from .note import note_figure

__all__ = ["GROUP", "dotplot_levels", "level_labels"]

_ABSENT = "absent from this dataset: "
_NOT_MEASURED = "not measured in this dataset (no value, not zero): "

#: The ``obs`` column holding the plot's rows.
GROUP = "lineage / state"


def level_labels(groups: pd.DataFrame) -> tuple[pd.Series, pd.Series, list[str]]:
    """Row labels of each cell at both levels, and the rows in plot order.

    Parameters
    ----------
    groups
        Per cell: ``lineage``, ``state``, ``parent`` (:func:`tmesig.gene_groups.cell_groups`).

    Returns
    -------
    lineage, state, order
        Per cell its lineage row and its state row (``"<state> (<parent>)"``; empty for
        ``unassigned``), and every row in order: lineages in :data:`LINEAGES` order, then
        states by parent lineage and name.
    """
    rank = {name: i for i, name in enumerate(LINEAGES)}
    lineage = groups["lineage"].where(groups["lineage"] != UNASSIGNED, "")
    state = (groups["state"] + " (" + groups["parent"] + ")").where(
        groups["state"] != UNASSIGNED, ""
    )
    lin_rows = sorted(set(lineage) - {""}, key=lambda x: (rank.get(x, len(rank)), x))
    pairs = groups.loc[groups["state"] != UNASSIGNED, ["parent", "state"]].drop_duplicates()
    pairs = sorted(
        pairs.itertuples(index=False), key=lambda p: (rank.get(p.parent, len(rank)), p.state)
    )
    return lineage, state, lin_rows + [f"{p.state} ({p.parent})" for p in pairs]


def dotplot_levels(matrix: ad.AnnData, genes: Sequence[str], *, groups: pd.DataFrame) -> Figure:
    """The card genes by lineage and by state (dot size: fraction expressing).

    Parameters
    ----------
    matrix
        Cells x genes in memory (e.g. :func:`tmesig.gene_groups.gene_matrix`), log-normalised.
    genes
        The genes to show, in order; those absent from ``matrix`` are named in the title.
    groups
        Per cell of ``matrix``: ``lineage``, ``state``, ``parent``.

    Returns
    -------
    matplotlib.figure.Figure
        The dot plot, or a note when no cell has a lineage.
    """
    lineage, state, order = level_labels(groups.loc[matrix.obs_names])
    keep_l, keep_s = (lineage != "").to_numpy(), (state != "").to_numpy()
    if not order:
        return note_figure("No cell has a lineage: nothing to plot.")
    x = sp.vstack([sp.csr_matrix(matrix.X[keep_l]), sp.csr_matrix(matrix.X[keep_s])])
    labels = pd.Categorical(
        list(lineage[keep_l]) + list(state[keep_s]), categories=order, ordered=True
    )
    work = ad.AnnData(
        X=sp.csr_matrix(x),
        obs=pd.DataFrame({GROUP: labels}, index=[str(i) for i in range(x.shape[0])]),
        var=pd.DataFrame(index=matrix.var_names.copy()),
    )
    fig = dotplot_genes(work, list(genes), groupby=GROUP)
    for ax in fig.axes:  # say "not measured", the table's words: never read as zero
        title = ax.get_title()
        if title.startswith(_ABSENT):
            ax.set_title(_NOT_MEASURED + title.removeprefix(_ABSENT))
    return fig
