"""Gene-level differences between conditions, per lineage and per cell state.

Raw counts are summed per level × compartment × patient × condition (a pseudobulk,
:func:`pseudobulk`, streamed from the h5ad file), the pseudobulks of each compartment are
chosen with patients as the unit (:func:`choose_units`: paired ``~patient + condition``
when enough patients are in both conditions, else ``~condition``) and compared gene by gene
with pydeseq2 (:func:`compare_genes`); without counts (``normalised`` or ``panel`` input)
the patient mean log values are compared with t-tests instead. Each compartment's
statistic is then ranked through gseapy prerank (:func:`prerank_conditions`).

Modules: ``_options`` (:class:`DeOptions`), ``_pseudobulk``, ``_units`` (design and
left-out patients), ``_tests`` (pydeseq2 and the t-tests), ``_compare`` (every
compartment), ``_prerank`` (the enrichment).
"""

from ._compare import DE_COLUMNS, compare_genes
from ._options import DeOptions
from ._prerank import ENRICHMENT_COLUMNS, prerank_conditions
from ._pseudobulk import pseudobulk, read_obs
from ._tests import deseq_genes, lognormal_genes
from ._units import UnitChoice, choose_units

__all__ = [
    "DE_COLUMNS",
    "ENRICHMENT_COLUMNS",
    "DeOptions",
    "UnitChoice",
    "choose_units",
    "compare_genes",
    "deseq_genes",
    "lognormal_genes",
    "prerank_conditions",
    "pseudobulk",
    "read_obs",
]
