"""Marker-based annotation of tumour-microenvironment (TME) compartments.

Every cell and every cluster receives one lineage-level compartment from
:data:`tmesig.constants.LINEAGES` (or :data:`tmesig.constants.UNASSIGNED`) together with
a confidence in ``[0, 1]``. Ambiguous clusters are left ``unassigned`` instead of being
guessed.

Scoring
-------
For each marker gene ``g`` present (and detected) in the data, expression ``x`` (by default
``adata.X``, expected to be ``log1p`` of library-size-normalised counts) is scaled to
``[0, 1]`` by

    ``s_g(cell) = min(x_g(cell) / q_g, 1)``

where ``q_g`` is the ``quantile`` (default 0.9) of the gene's *non-zero* values across all
cells, i.e. the level at which an expressing cell expresses the gene. Because ``q_g``
is computed among expressing cells only, it does not depend on how abundant the
compartment is, so scores of rare and abundant compartments are on the same scale. The
compartment score of a cell is the mean of ``s_g`` over the compartment's markers that are
present: ``0`` = no marker expressed, ``1`` = all markers at a typical expressing level.
Compartments with fewer than ``min_markers`` markers present get ``NaN``.

Calls and confidence
--------------------
*Cell level*: ``cell_compartment`` is the compartment with the highest score (``unassigned``
if every score is 0 or NaN); ``cell_confidence = (best - second) / best`` (relative margin).

*Cluster level*: ``S_k`` is the mean score of compartment ``k`` over the cluster's cells;
``top`` / ``second`` are the compartments with the highest / second-highest ``S_k``.

* ``margin = (S_top - S_second) / S_top`` (relative margin, in ``[0, 1]``);
* ``agreement`` = fraction of the cluster's cells whose ``cell_compartment == top``;
* ``confidence = sqrt(agreement * margin)`` (geometric mean of the two, in ``[0, 1]``).

Confidence is thus high only when the cluster's cells individually agree with the cluster
call *and* the cluster's mean profile clearly separates the best compartment from the
runner-up (a doublet-like mixture of two lineages has a margin near 0; a cluster expressing
no markers has near-random per-cell calls). A cluster is ``unassigned`` when
``confidence < min_confidence``, ``margin < min_margin`` or ``S_top < min_score``
(:class:`AnnotateOptions`); its cells then carry ``compartment = unassigned`` (their own
``cell_compartment`` is kept). All computations are deterministic; ties are broken by the
order of :data:`tmesig.constants.LINEAGES`.

Targeted panels
---------------
On a panel (:mod:`tmesig.input_mode`), each lineage's candidates are the configured markers
plus a broader list (:data:`PANEL_MARKERS`, with the epithelial gene families), intersected
with the panel; :func:`annotate_panel` calls each cluster from the contrast of its marker
detection with the other cells, a lineage judged by its best ``top_k`` markers (one marker
suffices), and uses a marker only when some cluster singles it out; :func:`markers_found`
says per lineage how many markers were found and whether it can be called.

Modules: ``_markers`` (the marker file), ``_scores`` (marker and gene-set scores),
``_lineage`` (cell and cluster calls), ``_panel`` (panel markers, markers found),
``_panel_calls`` (cluster-level calls on a targeted panel).
"""

from ._lineage import AnnotateOptions, annotate
from ._markers import DEFAULT_MARKERS, load_markers
from ._panel import PANEL_MARKERS, expressed_markers, markers_found, merge_markers
from ._panel_calls import PanelOptions, annotate_panel, cluster_contrast
from ._scores import gene_set_scores, marker_scores

__all__ = [
    "DEFAULT_MARKERS",
    "PANEL_MARKERS",
    "AnnotateOptions",
    "PanelOptions",
    "annotate",
    "annotate_panel",
    "cluster_contrast",
    "expressed_markers",
    "gene_set_scores",
    "load_markers",
    "marker_scores",
    "markers_found",
    "merge_markers",
]
