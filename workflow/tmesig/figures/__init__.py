"""The report's figures, one module per kind; every function returns a matplotlib Figure.

* :mod:`~tmesig.figures.colors` — one colour map: lineages (:data:`PALETTE`), subsets and
  states as shades of their lineage, CNV calls, samples; ``unassigned`` grey everywhere;
* :mod:`~tmesig.figures.umaps` — UMAP by a label, by several labels, by gene-set scores;
* :mod:`~tmesig.figures.dotplots` — card genes and subset markers (colour scaled per gene);
* :mod:`~tmesig.figures.heatmap` — compartment × set, sets grouped by where they act;
* :mod:`~tmesig.figures.qc` — QC metrics, thresholds and removal reasons;
* :mod:`~tmesig.figures.conditions` — forest plot, composition per patient;
* :mod:`~tmesig.figures.annotation` / :mod:`~tmesig.figures.cnv` — confidence, CNV calls;
* :mod:`~tmesig.figures.note` — a readable note when there is nothing to draw.

Titles say what a reader needs: the set's title, its direction ("high = resistance" /
"low = resistance") and coverage ("6/8 genes"); every colour bar and axis is labelled;
no panel is left empty. Nothing here computes a statistic the stage tables do not hold.
:mod:`tmesig.report` and :mod:`tmesig.report_annotation` re-export these names.
"""

import matplotlib

matplotlib.use("Agg")

from .annotation import cnv_scatter, confidence_distribution
from .cnv import cnv_heatmap
from .colors import (
    CNV_COLORS,
    NEUTRAL,
    PALETTE,
    category_colors,
    compartment_colors,
    state_colors,
)
from .conditions import composition_bars, forest_conditions
from .dotplots import dotplot_genes, marker_dotplot
from .heatmap import MECHANISM_GROUPS, heatmap_compartment_sets, mechanism_group
from .note import note_figure
from .qc import REASON_LABELS, qc_violins
from .umaps import umap_by, umap_categorical, umap_scores

__all__ = [
    "CNV_COLORS",
    "MECHANISM_GROUPS",
    "NEUTRAL",
    "PALETTE",
    "REASON_LABELS",
    "category_colors",
    "cnv_heatmap",
    "cnv_scatter",
    "composition_bars",
    "compartment_colors",
    "confidence_distribution",
    "dotplot_genes",
    "forest_conditions",
    "heatmap_compartment_sets",
    "marker_dotplot",
    "mechanism_group",
    "note_figure",
    "qc_violins",
    "state_colors",
    "umap_by",
    "umap_categorical",
    "umap_scores",
]
