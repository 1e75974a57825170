"""Enrichment: gseapy prerank of each compartment's marker ranking, on local GMT files only.

Genes are ranked per compartment by scanpy's ``rank_genes_groups`` statistic (compartment
versus all other assigned cells). The t-tests (the default) are computed from per-group
sums streamed a chunk of cells at a time, equal to scanpy's float for float, so the whole
matrix is never held (:func:`rank_genes_chunked`); Wilcoxon and logistic regression run
scanpy in memory on at most ``max_cells`` cells (a stratified sample above). Each ranking is
run through :func:`gseapy.prerank` against the signature library and the shipped MSigDB
Hallmark collection, given as dictionaries read from local GMT files.

Modules: ``_stream`` (per-group moments, chunk by chunk), ``_rank`` (the tests and the
in-memory path), ``_prerank`` (gseapy).
"""

from ._prerank import prerank
from ._rank import STREAMED, RankOptions, capped_rows, rank_genes, rank_genes_chunked, welch_table
from ._stream import GroupMoments, group_moments

__all__ = [
    "STREAMED",
    "GroupMoments",
    "RankOptions",
    "capped_rows",
    "group_moments",
    "prerank",
    "rank_genes",
    "rank_genes_chunked",
    "welch_table",
]
