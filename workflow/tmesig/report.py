"""Report figures of the main stages (re-exported from :mod:`tmesig.figures`).

Every function takes in-memory tables or an AnnData and returns a
:class:`matplotlib.figure.Figure`; nothing here computes a statistic that the tables do
not already hold. Compartments are coloured by :data:`PALETTE` (keyed by
:data:`tmesig.constants.LINEAGES`, ``malignant`` and ``unassigned``), subsets by shades of
their lineage (:func:`state_colors`).
"""

from .figures import (
    CNV_COLORS,
    PALETTE,
    category_colors,
    compartment_colors,
    composition_bars,
    dotplot_genes,
    forest_conditions,
    heatmap_compartment_sets,
    mechanism_group,
    note_figure,
    qc_violins,
    state_colors,
    umap_by,
    umap_categorical,
    umap_scores,
)

__all__ = [
    "CNV_COLORS",
    "PALETTE",
    "category_colors",
    "compartment_colors",
    "composition_bars",
    "dotplot_genes",
    "forest_conditions",
    "heatmap_compartment_sets",
    "mechanism_group",
    "note_figure",
    "qc_violins",
    "state_colors",
    "umap_by",
    "umap_categorical",
    "umap_scores",
]
