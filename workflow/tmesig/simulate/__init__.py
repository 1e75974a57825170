"""Simulated tumour single-cell RNA-seq with planted resistance programs.

Negative-binomial counts for the usual tumour-microenvironment cell types (CD8, CD4,
Treg and NK cells in ``T_NK``; B and plasma cells; macrophages and monocytes; mast cells;
fibroblasts; endothelial cells; malignant epithelial cells) across patients that respond
or not to immune-checkpoint blockade, each sampled before and after treatment. Programs
(gene lists with a fold change) can be planted in chosen cell types and conditions; the
default ones are exhaustion genes up in CD8 T cells of non-responders, the
SLC7A11/M2 programme up in their macrophages, and an antigen-presentation-low
(``B2M``/MHC-I) malignant clone. ``programs=()`` is the null mode: nothing planted.
A :class:`StateShift` among the programs plants a change of composition inside a type:
:data:`CD8_EXHAUSTED_SHIFT` splits CD8 T cells into effector/memory and exhausted cells
(``CD8_effector_memory`` / ``CD8_exhausted``, profiled after those subsets of
``resources/markers/subsets.yaml``), the exhausted share being higher in non-responders
(:data:`CD8_NULL_SHIFT`: the same split without a difference). Without a shift the CD8 T
cells are one type (``CD8_T``), as before.

Genes are real symbols: the signature library (:func:`tmesig.signatures.load_library`),
the compartment markers (:func:`tmesig.annotate.load_markers`) and filler protein-coding
genes from ``resources/genes/grch38_genes.tsv``, so the simulated data goes through the
real annotation and scoring.

Model
-----
Cell type ``t`` has an expression profile ``p_t`` (sums to 1): a shared heavy-tailed
(log-normal) baseline, its compartment's markers, the genes of its subsets in
``resources/markers/subsets.yaml`` (``CellType.subsets``: e.g. ``CD4_T`` and ``Treg``
for Tregs) and its own identity genes raised to the top of the distribution, other
compartments' markers silenced, and 10 % of genes shifted per cell type. Profiles are
consistent with the subset markers: the genes of sibling subsets that the type's subsets
do not list are capped (compartment markers at a detectable level, e.g. PRF1 in NK
cells, C1Q genes in monocytes; other genes at the median baseline level), and the
subsets' ``negative`` genes are silenced (NK cells lack CD3D/CD3E/CD3G/TRAC, plasma
cells MS4A1). A cell's mean count of gene ``g`` is ``mu = depth * p_state[g]``
where ``state`` is its cell type with the programs active in it (a program multiplies its
genes by ``fold``) and ``depth`` is one of 16 log-normal library-size levels. Counts are
NB(mean ``mu``, dispersion ``phi``: variance ``mu + phi mu^2``), drawn by inversion from
a counter-based random stream keyed on (seed, cell index): the matrix is the same
whatever the chunking or number of threads, and it is generated chunk by chunk as CSR,
never dense. Truth is in ``obs`` (``cell_type``, ``compartment``, ``patient``,
``sample``, ``response``, ``timepoint``, ``condition``, ``clone``, one boolean
``planted_<program>`` column per program, ``depth``) and ``uns["simulation"]``.

The package is split by concept: :mod:`._cell_types` (the cell types and their subset
markers), :mod:`._programs` (planted programs), :mod:`._profiles` (genes and expression
profiles), :mod:`._sampling` (:class:`Simulation`, the negative-binomial kernel),
:mod:`._states` (refined states and :class:`StateShift`), :mod:`._design` (:func:`design`:
the cohort) and :mod:`._write` (AnnData and h5ad output).
"""

from ._cell_types import CELL_TYPES, CellType
from ._design import design
from ._programs import DEFAULT_PROGRAMS, Program, library_genes
from ._sampling import Simulation
from ._states import CD8_EXHAUSTED_SHIFT, CD8_NULL_SHIFT, STATE_TYPES, StateShift
from ._write import simulate, write_h5ad_chunked

__all__ = [
    "CD8_EXHAUSTED_SHIFT",
    "CD8_NULL_SHIFT",
    "CELL_TYPES",
    "DEFAULT_PROGRAMS",
    "CellType",
    "Program",
    "STATE_TYPES",
    "Simulation",
    "StateShift",
    "design",
    "library_genes",
    "simulate",
    "write_h5ad_chunked",
]
