"""Condition comparisons (responder vs non-responder, pre vs post) with patients as the unit.

Scores are averaged per sample × compartment (a pseudobulk of scores; a sample contributes
to a compartment only with at least ``min_cells`` cells there), at two levels: the lineages
(``compartment``) and the cell states inside them (``state``, e.g. ``CD8_exhausted``,
``malignant``). Two conditions are then compared with the test the design allows
(:func:`compare_samples`):

* **paired** when every patient was sampled in both conditions (at least ``min_patients``):
  a paired t-test on the within-patient differences of the patient means;
* **unpaired** when no patient was: Welch's t-test on the patient means of the two groups;
* **mixed** when some patients were sampled in both and others in one: a linear mixed model
  of the sample means with a random intercept per patient (statsmodels MixedLM, REML;
  Satterthwaite degrees of freedom), so that no patient is dropped (:func:`mixed_model`).

The effect is the difference ``test − reference`` in score units with its 95% confidence
interval and a standardised effect (Hedges' g; d_z for paired designs; effect / total SD
for the mixed model). With fewer than ``min_patients`` patients per group (or pairs) no
p-value is reported. ``method`` names the test; ``note`` names every patient left out and
why. p-values are adjusted by Benjamini–Hochberg within each level, separately in two
families: *primary* (the pre-specified hypotheses, :func:`primary_in`) and *exploratory*.
"""

from ..signatures import primary_in
from ._compare import ConditionOptions, compare_conditions, gene_counts
from ._contrast import Contrast, no_contrast_note, resolve_contrast, with_unit_note
from ._mixed import MixedFit, mixed_model, satterthwaite_df
from ._samples import compare_samples, patient_means, sample_means
from ._units import compare_units

__all__ = [
    "ConditionOptions",
    "Contrast",
    "MixedFit",
    "compare_conditions",
    "compare_samples",
    "compare_units",
    "gene_counts",
    "mixed_model",
    "no_contrast_note",
    "patient_means",
    "primary_in",
    "resolve_contrast",
    "sample_means",
    "satterthwaite_df",
    "with_unit_note",
]
