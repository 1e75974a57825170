"""Scoring: one score per cell and gene set, with an audit of which genes were found.

Three methods, all chunked over cells so that a backed h5ad
(``anndata.read_h5ad(path, backed="r")``) is scored without loading or densifying it:

``mean_diff`` (default, :func:`score_mean_diff`)
    Scanpy's ``score_genes`` score (mean expression of the set minus the mean of
    expression-matched control genes), for every set in one pass. One streaming pass
    computes the gene means and scanpy's expression bins, control genes are drawn per set
    with exactly scanpy's procedure and random-number consumption (so the same ``seed``
    picks the same control genes as ``sc.tl.score_genes(..., random_state=seed)``), and a
    second pass computes one product ``X @ W`` for all sets (``W`` genes × sets holds
    ``+1/n_set`` on the set's genes and ``-1/n_ctrl`` on its control genes).
``rank`` (:func:`score_rank`)
    UCell's Mann–Whitney U score on per-cell gene ranks (top ``max_rank`` genes); it only
    depends on the order of genes within a cell, so counts and log-normalised data give
    the same score.
``scanpy``
    The reference: a loop of :func:`scanpy.tl.score_genes`, one call per set (in memory
    only).

:func:`null_group_means` calibrates the mean-difference score: for every set,
``n_null`` random sets matched in size and expression bin, scored in one product and
averaged per group of cells (e.g. compartment × sample), which is all an empirical
p-value per compartment needs and stays small whatever the number of cells.

A set with fewer than ``min_genes`` of its genes found in the data, or whose fraction of
genes found is below ``min_coverage``, is not scored; the coverage table says which rule it
failed (:func:`coverage_verdict`).

Modules: ``_chunks`` (chunked, backed reading), ``_genes`` (gene statistics, expression
bins, control genes, coverage), ``_mean_diff``, ``_rank``, ``_null`` (calibration),
``_null_batches`` (further null sets), ``_options`` (:class:`ScoreOptions`), ``_engine``
(:func:`score_cells`) and ``_scatter`` (blocks of cells scored as separate jobs, then joined:
:func:`chunk_plan`, :func:`save_gene_stats`, :func:`gather_scores`).
"""

from ._engine import score_cells
from ._genes import (
    GeneStats,
    coverage_table,
    coverage_verdict,
    gene_stats,
    scanpy_bins,
    scanpy_control_genes,
)
from ._mean_diff import score_mean_diff
from ._null import NullGroupMeans, null_group_means
from ._null_batches import NullSampler
from ._options import METHODS, ScoreOptions
from ._rank import score_rank
from ._scatter import (
    ScatterOptions,
    chunk_plan,
    count_cells,
    gather_inputs,
    gather_scores,
    load_gene_stats,
    read_plan,
    save_gene_stats,
)

__all__ = [
    "METHODS",
    "GeneStats",
    "NullGroupMeans",
    "NullSampler",
    "ScatterOptions",
    "ScoreOptions",
    "chunk_plan",
    "count_cells",
    "coverage_table",
    "coverage_verdict",
    "gather_inputs",
    "gather_scores",
    "gene_stats",
    "load_gene_stats",
    "null_group_means",
    "read_plan",
    "save_gene_stats",
    "score_cells",
    "score_mean_diff",
    "score_rank",
    "scanpy_bins",
    "scanpy_control_genes",
]
