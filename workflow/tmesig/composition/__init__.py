"""Composition: the share of each lineage, and of each cell state within its lineage or
subset, per patient and condition, compared between conditions with patients as the unit.

Two levels (``level`` column):

* **lineage** — each lineage's share of a patient's assigned cells
  (:func:`composition_table`; ``denominator`` = ``assigned cells``);
* **state** — each cell state's share of its denominator (:func:`state_composition_table`):
  the top-level states of a lineage among its cells (``CD8_T`` among ``T_NK``,
  ``malignant`` among ``epithelial``, ``CAF`` among ``fibroblast``) and the refinements of
  a subset among its cells (``CD8_exhausted`` among ``CD8_T``: "exhausted among CD8"), the
  hierarchy coming from the subset markers' ``parent:`` keys (:func:`state_hierarchy`).

Shares are compared as in propeller (Phipson B et al. propeller: testing for differences
in cell type proportions in single cell data. Bioinformatics 38, 4720-4726 (2022).
doi:10.1093/bioinformatics/btac582): logit-transformed with a pseudo-count of half a cell
(``log((k + 0.5) / (n - k + 0.5))``; or arcsine square root), then a t-test over patients
(:func:`compare_composition`: paired when the same patients were sampled in both
conditions, else Welch). The effect is the difference in transformed share (on the logit
scale a log odds ratio) with its confidence interval; Benjamini–Hochberg runs per level.

The package is split by concept: :mod:`._tables` (counts and shares per patient) and
:mod:`._compare` (transform and test).
"""

from ._compare import TRANSFORMS, compare_composition, transform_shares
from ._tables import ALL_ASSIGNED, composition_table, state_composition_table, state_hierarchy

__all__ = [
    "ALL_ASSIGNED",
    "TRANSFORMS",
    "compare_composition",
    "composition_table",
    "state_composition_table",
    "state_hierarchy",
    "transform_shares",
]
