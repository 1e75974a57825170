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

6. Clones: a CNV cluster is a *clone* when it has >= ``min_clone_cells`` cells, fewer
   than half of them reference cells, and its mean profile deviates (mean ``|profile|``)
   more than the mean profile of any reference group's held-out cells (size-matched).
   A clone member *shares the clone's profile* when its ``cnv_corr`` exceeds the null
   bound (median + ``n_mads`` MADs, at least the 95th percentile) of the correlations of
   the held-out reference cells with the clone's mean profile. Per-cell scores are noisy
   at the depth of droplet data; the clone's mean is not, and the per-clone correlation
   null asks the question of Tirosh et al. 2016 / Puram et al. 2017 (does the cell carry
   its tumour's CNV pattern) with a threshold derived from normal cells, not fixed.

7. Reference purification (:func:`tmesig.cnv._reference.purify`): reference cells above
   both thresholds or sharing a clone's profile carry copy-number changes (misannotated
   tumour cells, doublets); they are removed from the reference and steps 2-6 are run
   again, until a round removes nothing (at most ``max_iterations`` infercnvpy runs;
   cells found in the last allowed round are removed without another run and
   ``attrs["converged"]`` is false). Removed cells become candidates: they get their own
   call (``removed_from_reference``; a malignant one is counted in
   ``attrs["n_malignant_other_lineage"]`` when its lineage is not a candidate lineage).

8. Call, for candidate cells (lineage in ``candidate_lineages``, default ``epithelial``,
   or removed from the reference):

   * ``malignant`` if ``cnv_score > score_threshold`` and ``cnv_corr > corr_threshold``,
     or if the cell shares a clone's profile;
   * ``uncertain`` otherwise if one of the two thresholds is exceeded;
   * ``non-malignant`` otherwise.

   Reference cells are always ``non-malignant`` (after purification none is above both
   thresholds). Cells of other lineages (including ``unassigned``) are
   ``non-malignant`` unless the evidence is strong: ``cnv_score > strong_factor *
   score_threshold`` and ``cnv_corr > strong_corr`` (defaults 1.5 and 0.6); then they are
   ``malignant`` and ``note`` says so. ``note`` also flags reference cells, removed cells,
   clone members and cells whose lineage forbade a call.

On Qian et al. 2020 (the demo) 314 of the 315 author-epithelial cells annotated fibroblast
are removed from the reference in two rounds and 98.6% of the author-epithelial cells are
called malignant (before: 242 of 1,625), no author immune cell.

Thresholds are stored in the result's ``.attrs``. Every option named here is a field of
:class:`CnvOptions`.

Modules: ``_positions`` (gene positions), ``_options`` (:class:`CnvOptions`), ``_profiles``
(infercnvpy), ``_signal`` (profiles, CNV clusters, score, correlation), ``_thresholds``,
``_clones``, ``_reference`` (mask, held-out half, purification), ``_call`` (calls),
``_epithelial`` (epithelial-like reference cells, listed), ``_capped``
(:func:`call_malignant_capped`: bounded memory).

Bounded memory (:func:`call_malignant_capped`)
----------------------------------------------
At most ``CnvCap.max_cells`` cells per sample are profiled (``subsets.cnv_max_cells``),
drawn per sample and lineage (every lineage keeps ``min(its cells, an equal share)``,
seeded), and at most ``max_cells_total`` in all (``subsets.cnv_max_cells_total``: the
per-sample cap shrinks with many samples, so memory does not grow with them). The capped
cells of all samples are profiled *together* by :func:`call_malignant` (one purified
reference across samples, as uncapped: a sample's own reference may be a few dozen cells).
Every other cell takes the majority call (CNV cluster, clone) of its 15 nearest profiled
cells of the same sample and lineage in ``obsm['X_pca']`` and their mean ``cnv_score`` /
``cnv_corr``; ``cnv_profiled`` says which cells were profiled. Below the cap every cell
is profiled and the result is :func:`call_malignant`'s. From a backed ``clustered.h5ad`` only
the profiled cells are read. With ``CnvOptions.n_jobs == 1`` infercnvpy's cell chunks are
processed in this process (its worker pool would fork a copy of it).
"""

from ._call import CALLS, call_malignant
from ._capped import CnvCap, call_malignant_capped, capped_cells
from ._epithelial import epithelial_like, note_epithelial_like
from ._options import CANDIDATE_LINEAGES, REFERENCE_LINEAGES, CnvOptions
from ._positions import PRIMARY_CHROMOSOMES, add_gene_positions
from ._profiles import cnv_profiles

__all__ = [
    "CALLS",
    "CANDIDATE_LINEAGES",
    "PRIMARY_CHROMOSOMES",
    "REFERENCE_LINEAGES",
    "CnvCap",
    "CnvOptions",
    "add_gene_positions",
    "call_malignant",
    "call_malignant_capped",
    "capped_cells",
    "cnv_profiles",
    "epithelial_like",
    "note_epithelial_like",
]
