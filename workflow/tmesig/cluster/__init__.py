"""Clustering: highly variable genes, PCA (+ Harmony), neighbours, Leiden, UMAP.

All steps are scanpy's, seeded, on log-normalised ``X`` (the stage normalises first with
:func:`tmesig.io.expression.normalise_in_place`; ``X`` is not changed here). The highly
variable genes are only marked in ``var["highly_variable"]`` and used for the PCA. With no
more genes than ``n_hvg`` (a panel), every gene is used; with few genes, fewer principal
components (at most a tenth of the genes used, at least 2).

Large datasets (more than ``sketch_above`` cells, :class:`SketchOptions`): genes and PCA
(and Harmony) use every cell, but the cluster stage never holds the whole matrix
(:func:`streamed_expression`: gene statistics streamed from the file, then only the highly
variable genes' columns read for the PCA, :func:`cluster_marked`); the neighbour graph,
Leiden and UMAP run on a sketch (:func:`sketch_indices`, geometric sketching by default),
and every other cell takes the majority Leiden label of its nearest sketch cells in PCA (or
Harmony) space and their inverse-distance weighted mean UMAP position (:mod:`._transfer`).
``obs["in_sketch"]`` and ``uns["tmesig_cluster"]["sketch"]`` record it.

Modules: :mod:`._leiden` (the one Leiden call), :mod:`._genes` (highly variable genes),
:mod:`._sketch` (options, sketch), :mod:`._streamed` (the large path's reading),
:mod:`._transfer` (placing cells outside the sketch), :mod:`._cluster` (:func:`cluster`),
:mod:`._knn` (the one kNN-graph call: exact up to 120,000 cells), :mod:`._graph_only` (above
it, pynndescent without its unused query index), :mod:`._umap` (UMAP after clustering, the
workflow's rule ``umap``, and its table).
"""

from ._cluster import cluster, cluster_marked
from ._genes import highly_variable_chunked, n_components, pca_genes, seurat_batched, seurat_frame
from ._graph_only import graph_only
from ._knn import EXACT_MAX, knn_graph
from ._leiden import leiden
from ._sketch import SKETCH_METHODS, SketchOptions, sketch_indices
from ._streamed import streamed_expression
from ._transfer import knn_to_sketch, transfer_embedding, transfer_labels
from ._umap import read_umap, umap_embedding, write_umap

__all__ = [
    "EXACT_MAX",
    "SKETCH_METHODS",
    "SketchOptions",
    "cluster",
    "cluster_marked",
    "graph_only",
    "highly_variable_chunked",
    "knn_graph",
    "knn_to_sketch",
    "leiden",
    "n_components",
    "pca_genes",
    "read_umap",
    "seurat_batched",
    "seurat_frame",
    "sketch_indices",
    "streamed_expression",
    "transfer_embedding",
    "transfer_labels",
    "umap_embedding",
    "write_umap",
]
