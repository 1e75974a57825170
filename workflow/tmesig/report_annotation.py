"""Figures of the annotation stages (re-exported from :mod:`tmesig.figures`).

* :func:`cnv_heatmap` — inferred copy number, rows annotated by lineage, CNV call, author label;
* :func:`umap_by` — UMAP coloured by lineage, subset, CNV call, sample (one panel each);
* :func:`marker_dotplot` — subset marker genes by subset (colour scaled per gene);
* :func:`confidence_distribution` — lineage / subset confidence, each with its threshold;
* :func:`cnv_scatter` — per-cell CNV score vs correlation with the thresholds.
"""

from .figures import (
    cnv_heatmap,
    cnv_scatter,
    confidence_distribution,
    marker_dotplot,
    umap_by,
)

__all__ = [
    "cnv_heatmap",
    "cnv_scatter",
    "confidence_distribution",
    "marker_dotplot",
    "umap_by",
]
