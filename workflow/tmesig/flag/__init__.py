"""Flagging: which compartments carry a resistance program, with samples as the unit.

For every compartment × gene set the per-sample difference between the compartment's
mean score and the mean score of all other assigned cells of the same sample is computed
(a paired, within-sample contrast). Its mean over samples, in units of the set's
per-cell standard deviation, is the effect. With at least three samples a one-sided
one-sample t-test over the per-sample differences gives a p-value in the direction that
means resistance (high for ``up`` sets, low for ``down`` sets). Cells are never the unit of
a test.

The same contrast is then computed for expression-matched random gene sets
(:func:`null_calibration`); a row's p-value is the larger of the t-test's and the
empirical one (:func:`calibrate_flags`). :func:`flag_dataset` runs the whole statistic.

Two levels: lineages (``compartment``) and, given the per-cell ``state`` of
``annotation.tsv``, cell states (``CD8_exhausted``, ``CAF``, ``malignant``...; ``level``
and ``parent`` columns). A state is contrasted, like a lineage, with all other cells of
the same sample; one pass over the matrix serves both levels.

Two families of tests are adjusted separately by Benjamini–Hochberg, within each level:
the *primary* family holds the pre-specified hypotheses (each set in the compartments
its provenance says it applies to, :func:`tmesig.signatures.primary_in`: at state level
the states it names, or every state of a lineage it names when it names no state of that
lineage), the
*exploratory* family everything else. Only primary tests can be flagged;
exploratory rows are reported so that nothing is hidden.

Modules: ``_samples`` (the sample-level test), ``_calibration`` (null calibration, driver
genes, final flags), ``_contrasts`` (within-sample contrasts; further null sets scored
against per-sample gene contrasts, numba-parallel), ``_sequential`` (sequential Monte Carlo
p-values: more null sets only for the tests near significance, each batch drawn once for
both levels) and ``_dataset`` (:class:`FlagOptions`, :func:`flag_dataset`).
"""

from ._calibration import calibrate_flags, driver_genes, null_calibration
from ._dataset import FlagOptions, flag_dataset
from ._samples import compartment_summary, flag_compartments

__all__ = [
    "FlagOptions",
    "calibrate_flags",
    "compartment_summary",
    "driver_genes",
    "flag_compartments",
    "flag_dataset",
    "null_calibration",
]
