"""Malignant-cell calling from inferred copy number (infercnvpy).

Steps (:func:`call_malignant`)
------------------------------
1. Gene positions: :func:`add_gene_positions` writes ``chromosome`` / ``start`` / ``end``
   into ``adata.var`` from ``resources/genes/grch38_genes.tsv`` (primary chromosomes only;
   genes without a position are ignored by infercnvpy).
2. CNV profiles: ``infercnvpy.tl.infercnv`` (window 100 genes, step 10, chunked) on
   log-normalised expression, with the *reference* cells (default: lineages ``T_NK``,
   ``B_plasma``, ``myeloid``, ``endothelial``, ``fibroblast``; or an explicit mask) as the
   copy-neutral baseline. ``obsm['X_cnv']`` holds the smoothed, reference-subtracted
   profile per cell.
3. CNV clusters: PCA of ``X_cnv``, kNN, Leiden (seeded) -> ``cnv_cluster``.
4. Per cell:

   * ``cnv_score`` = mean ``|X_cnv|`` over windows (amount of copy-number deviation);
   * ``cnv_corr`` = Pearson correlation of the cell's profile with the mean profile of
     the *other* cells of its CNV cluster (leave-one-out), i.e. does the cell share a
     clonal copy-number pattern. Reference cells scatter around zero, so their cluster
     means are noise and their correlations low; tumour clones share gains / losses.

5. Thresholds, derived from *held-out* reference cells: a seeded random half of the
   reference cells of each group is left out of the infercnvpy baseline (cells that
   define the baseline are biased towards zero) and calibrates the thresholds:

   * ``score_threshold`` = the larger of median + ``n_mads`` (3) x 1.4826 x MAD and the
     95th percentile of the held-out cells' ``cnv_score`` (the percentile matters when
     infercnvpy's noise filter zeroes most reference cells and the MAD is 0) (~ the
     99.9th percentile of a normal null; median / MAD rather than a quantile because the
     reference always contains a few misannotated tumour cells or doublets, which move a
     99th percentile a lot — on Qian et al. 2020 the 99th percentile of held-out
     reference cells was 2x the robust bound);
   * ``corr_threshold`` = ``max(min_corr, median + n_mads x 1.4826 x MAD)`` of the
     held-out cells' ``cnv_corr``, clipped to ``[min_corr, max_corr]`` = ``[0.3, 0.5]``
     (with a few dozen reference cells the MAD is wide and the bound can exceed 1, and
     B cells / macrophages keep residual expression-driven structure; Puram et al. 2017
     and Tirosh et al. 2016 called malignant cells at a correlation of 0.4 with the
     tumour's average CNV profile, so 0.5 is on the strict side of published practice).

6. Call, for candidate cells (lineage in ``candidate_lineages``, default ``epithelial``):

   * ``malignant`` if ``cnv_score > score_threshold`` and ``cnv_corr > corr_threshold``;
   * ``non-malignant`` if ``cnv_score <= score_threshold`` and
     ``cnv_corr <= corr_threshold``;
   * ``uncertain`` otherwise (one criterion only).

   Reference cells are always ``non-malignant`` (``note`` flags those above both
   thresholds). Cells of other lineages (including ``unassigned``) are
   ``non-malignant`` unless the evidence is strong: ``cnv_score > strong_factor *
   score_threshold`` and ``cnv_corr > strong_corr`` (defaults 1.5 and 0.6); then they are
   ``malignant`` and ``note`` says so. ``note`` also flags reference cells and cells whose
   lineage forbade a call that the thresholds alone would have made.

Thresholds are stored in the result's ``.attrs``. Every option named here is a field of
:class:`CnvOptions`.

Modules: ``_positions`` (gene positions), ``_options`` (:class:`CnvOptions`), ``_profiles``
(infercnvpy), ``_call`` (clusters, thresholds, calls).
"""

from ._call import call_malignant
from ._options import CANDIDATE_LINEAGES, REFERENCE_LINEAGES, CnvOptions
from ._positions import PRIMARY_CHROMOSOMES, add_gene_positions
from ._profiles import cnv_profiles

__all__ = [
    "CANDIDATE_LINEAGES",
    "PRIMARY_CHROMOSOMES",
    "REFERENCE_LINEAGES",
    "CnvOptions",
    "add_gene_positions",
    "call_malignant",
    "cnv_profiles",
]
