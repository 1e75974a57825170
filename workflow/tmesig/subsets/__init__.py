"""Second-level (subset) annotation inside each lineage compartment.

Lineage first (:func:`tmesig.annotate.annotate`), then subsets inside each lineage from
``resources/markers/subsets.yaml`` (CD8 effector/memory vs exhausted, CD4 conventional,
Treg, NK, MAIT; B vs plasma; classical monocyte, macrophage, cDC1, cDC2, pDC, mregDC;
CAF vs normal fibroblast, pericyte, smooth muscle; tumour / normal / lymphatic
endothelium; alveolar and airway epithelium). Malignant cells are not a marker subset:
they come from copy number (:mod:`tmesig.cnv`) and are merged by :func:`merge_malignant`.

Scores
------
Inside a lineage, every subset is scored with :func:`tmesig.annotate.gene_set_scores` on
the lineage's cells only (gene scaling by the 90th percentile of the gene's non-zero values
*among the lineage's cells*), so a subset's score is in ``[0, 1]``; a subset with
``negative`` genes has its score multiplied by ``1 - (negative score)``.

Tree
----
Subsets without ``parent`` are *roots* (e.g. ``CD8_T``, ``CD4_T``, ``NK``, ``MAIT``);
subsets with a parent refine it (``CD8_effector_memory`` / ``CD8_exhausted`` under
``CD8_T``). Each level compares siblings only.

Calls and confidence
--------------------
*Sub-clusters*: the lineage's cells are re-clustered (HVGs of the lineage's cells plus the
lineage's subset marker genes, PCA, kNN, Leiden with a fixed ``seed`` and ``resolution``);
lineages with fewer than ``min_cells_subcluster`` cells form one sub-cluster. A lineage with
more than ``sketch_above`` cells (default 50,000; ``subsets.sketch_above``) is sub-clustered
on a sketch of that many cells, a uniform sample stratified by the clustering's ``leiden``
clusters (each keeps at least 200 cells or all it has; ``geosketch`` is not a dependency):
HVGs, PCA and Leiden on the sketch, every cell projected on the sketch's components and
labelled with the majority sub-cluster of its nearest sketch cells; the kNN graph of the
label spreading is built on all cells in that space. Given a backed ``clustered.h5ad``,
:func:`annotate_subsets` reads one lineage at a time; a sketched lineage's cells are read with
their marker genes only, the sketch with all genes, and the projection one chunk of the file
at a time, so memory does not grow with the lineage's cells x genes.

*Cluster level* (column ``subset``): at each level, exactly as for lineages
(:func:`tmesig.annotate.annotate`): with ``S`` the sub-cluster's mean sibling scores,
``margin = (S_top - S_second) / S_top``, ``agreement`` = fraction of the sub-cluster's cells
whose own best sibling is ``top``, ``confidence = sqrt(agreement * margin)``. A root call
needs ``confidence >= min_confidence``, ``margin >= min_margin`` and ``S_top >= min_score``,
else the sub-cluster is ``unassigned``. A child call needs the same; otherwise the call
stays at the parent (``CD8_T``: "CD8 T cell, state unresolved"). The reported
``subset_confidence`` is the minimum of the confidences along the path.

The absolute floor ``min_score`` (default 0.2: the sub-cluster's cells express the
subset's genes at a fifth of a typical expressing level on average) matters when only one
sibling is scorable (the others lack detected genes): the margin is then 1 by
construction, and only the floor stops e.g. ovarian carcinoma cells with a trace of
ciliated-cell genes from being called airway epithelium.

*Cell level* (column ``cell_subset``): the cell's best sibling at each level, with the
relative margin as confidence; ``unassigned`` (root) or parent fallback (child) when the
margin is below ``min_cell_margin`` or the best score below ``min_cell_score`` (0.1). Use it when
clusters are too small to trust (a few hundred cells).

Identity genes and propagation
------------------------------
Roots may list ``identity`` genes: the few lineage-defining genes of the root (``CD8_T``:
CD8A, CD8B, CD8B2; ``CD4_T``: CD4, CD40LG, FOXP3, ANKRD55, TNFRSF4). When at least two
roots of a lineage have them (and ``propagate=True``, the default), the per-cell call
between those roots is made from the identity genes only, so state programmes shared
across lineages (cytotoxic genes of CD4 Trm cells) do not decide CD8 vs CD4:

1. cells called (per cell) as one of these roots, or unassigned with one of them as best
   root, are *eligible*; NK / MAIT cell calls are left as they are;
2. an eligible cell is a *seed* when its identity scores (``gene_set_scores`` of each
   root's identity genes among the lineage's cells) have a best value ``> 0`` and a
   relative margin ``>= min_identity_margin`` (0.5);
3. the seed labels are spread over the lineage's kNN graph (the sub-clustering graph:
   HVGs + marker genes, PCA, ``n_neighbors``, seeded) by label spreading (Zhou et al.
   2004, "Learning with local and global consistency"; the fixed point of
   :class:`sklearn.semi_supervised.LabelSpreading`, solved by conjugate gradients):
   ``F = (1 - alpha) (I - alpha S)^-1 Y`` with ``alpha = propagation_alpha`` (0.99, the
   paper's value). Seeds are not clamped: one or two identity reads (ambient RNA,
   doublets) in a cell whose whole neighbourhood carries the other label are outvoted.
   With ``balance_propagation`` (default) each label's seeds carry a total mass of 1
   (class-mass normalisation), because CD8A/CD8B are detected about three times as often
   as CD4/CD40LG in droplet data, so seed counts reflect detection rates more than
   abundance. Every eligible cell takes its arg-max label;
4. the confidence is the cell's *neighbour agreement*: the relative margin of its label
   in the weighted vote of its kNN neighbours' spread labels (1: all neighbours agree;
   0: the neighbourhood prefers the other label). Below ``min_cell_margin`` (or no seed
   reachable) the cell is ``unassigned``. ``cell_subset_source`` says how the call was
   made: ``identity`` (seed, neighbourhood agrees), ``identity_overridden`` (seed whose
   identity genes pointed to the other root), ``propagated`` (no seed).

On Wu et al. 2020 T cells (200 cells, ``benchmarks/bench_annotation.py``) this gives
0.925 accuracy among CD4/CD8 calls with 7% unassigned; hard-clamped propagation (seeds
fixed to their identity genes) gave 0.837 with 2% unassigned.

The children of these roots are then called per cell as usual. The cluster-level
``subset`` column is unchanged by this step.

Axes
----
Continuous axes (``axes:`` in the YAML, e.g. ``macrophage_M2_minus_M1``) are reported as
``axis_<name> = score(positive genes) - score(negative genes)`` (in ``[-1, 1]``) for cells
whose cluster-level ``subset`` is the axis' subset, ``NaN`` elsewhere.

Everything is deterministic (seeded Leiden; stable tie-breaking in YAML order). Every
option named here is a field of :class:`SubsetOptions`.

Modules: ``_markers`` (the marker file), ``_options`` (:class:`SubsetOptions`),
``_subcluster`` (sub-clusters and kNN graph), ``_pca`` (the lineage's PCA), ``_sketch``
(sub-clusters of large lineages from a sketch), ``_levels`` (root and child calls),
``_spread`` (label spreading), ``_identity`` (identity-gene calls), ``_annotate``
(:func:`annotate_subsets`), ``_merge`` (:func:`merge_malignant`).
"""

from ._annotate import annotate_subsets
from ._markers import DEFAULT_SUBSET_MARKERS, Axis, Subset, SubsetMarkers, load_subset_markers
from ._merge import OTHER_NORMAL_EPITHELIUM, merge_malignant
from ._options import SubsetOptions

__all__ = [
    "DEFAULT_SUBSET_MARKERS",
    "OTHER_NORMAL_EPITHELIUM",
    "Axis",
    "Subset",
    "SubsetMarkers",
    "SubsetOptions",
    "annotate_subsets",
    "load_subset_markers",
    "merge_malignant",
]
