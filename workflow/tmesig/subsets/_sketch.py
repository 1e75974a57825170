"""Sub-clusters of a large lineage from a sketch: Leiden on a stratified sample of its
cells, every other cell labelled by kNN transfer in the sketch's PCA space."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.io.backed_rows import RowRequest, iter_row_sets
from tmesig.io.expression import ROW_CHUNK

from ._options import SubsetOptions
from ._pca import lineage_pca

if TYPE_CHECKING:
    import anndata as ad

__all__ = [
    "SKETCH_STRATA",
    "SketchFit",
    "fit_sketch",
    "project_from_file",
    "sketch_rows",
    "sketched_subclusters",
]

#: ``obs`` column the sketch is stratified by when present (the clustering's clusters).
SKETCH_STRATA = "leiden"
#: Cells every stratum keeps (all of them when it has fewer) whatever its share.
MIN_PER_STRATUM = 200


@dataclass(frozen=True)
class SketchFit:
    """A lineage's fitted sketch.

    Attributes
    ----------
    rows
        The sketch's cells, as positions among the lineage's cells (increasing).
    work
        :func:`fit_sketch` of them.
    pcs
        Every cell of the lineage on the sketch's components.
    """

    rows: np.ndarray
    work: ad.AnnData
    pcs: np.ndarray


def sketch_rows(strata: np.ndarray | None, n_keep: int, *, seed: int) -> np.ndarray:
    """Sorted rows of a stratified uniform sample of ``n_keep`` cells.

    Each stratum keeps its proportional share, at least ``min(its cells,
    MIN_PER_STRATUM)`` (so rare clusters survive); largest remainders fill the budget.

    Parameters
    ----------
    strata
        Stratum per cell (``None``: one stratum).
    n_keep
        Sketch size (``>=`` the number of cells: every row).
    seed
        Random seed.

    Returns
    -------
    numpy.ndarray
        Row indices, increasing.
    """
    n = 0 if strata is None else len(strata)
    labels = np.zeros(n, dtype=int) if strata is None else pd.factorize(np.asarray(strata))[0]
    sizes = np.bincount(labels)
    if n_keep >= sizes.sum():
        return np.arange(sizes.sum())
    floor = np.minimum(sizes, MIN_PER_STRATUM)
    rest = max(n_keep - int(floor.sum()), 0)
    exact = (sizes - floor) * rest / max(int((sizes - floor).sum()), 1)
    alloc = floor + np.floor(exact).astype(int)
    short = n_keep - int(alloc.sum())
    if short > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        alloc[order[:short]] += 1
    alloc = np.minimum(alloc, sizes)
    rng = np.random.default_rng(seed)
    rows = [
        rng.choice(np.flatnonzero(labels == k), int(alloc[k]), replace=False)
        for k in range(sizes.size)
    ]
    return np.sort(np.concatenate(rows))


def _project(sub: ad.AnnData, work: ad.AnnData, chunk: int = 20_000) -> np.ndarray:
    """All cells of ``sub`` in the sketch's PCA space (centred by the sketch's gene means)."""
    comps, offset = _loadings(work)
    out = np.empty((sub.n_obs, comps.shape[1]))
    for start in range(0, sub.n_obs, chunk):
        part = sub[start : start + chunk]
        out[start : start + chunk] = _on_components(part, work, comps, offset)
    return out


def project_from_file(
    adata: ad.AnnData, lineages: Sequence[tuple[np.ndarray, ad.AnnData]]
) -> list[np.ndarray]:
    """:func:`_project` of several lineages' cells of a backed file, in one pass over it.

    Parameters
    ----------
    adata
        The backed file.
    lineages
        Per lineage: its rows in the file and its fitted sketch (:func:`fit_sketch`).

    Returns
    -------
    list of numpy.ndarray
        Per lineage, every cell on its sketch's components (the numbers of :func:`_project`).
    """
    loads = [_loadings(work) for _, work in lineages]
    n_pcs = [comps.shape[1] for comps, _ in loads]
    outs = [np.empty((rows.size, n)) for (rows, _), n in zip(lineages, n_pcs, strict=True)]
    requests = [RowRequest(rows, list(work.var_names)) for rows, work in lineages]
    order = [  # the file's columns of each request, in its sketch's gene order
        adata.var_names[adata.var_names.isin(r.genes)].get_indexer(work.var_names)
        for r, (_, work) in zip(requests, lineages, strict=True)
    ]
    for k, pos, block in iter_row_sets(adata, requests, chunk_size=ROW_CHUNK):
        outs[k][pos] = _on_matrix(block[:, order[k]], *loads[k])
    return outs


def _loadings(work: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    """The sketch's loadings and the projection of its gene means (the centring)."""
    mean = np.asarray(work.X.mean(axis=0)).ravel()
    comps = np.asarray(work.varm["PCs"], dtype=np.float64)
    return comps, mean @ comps


def _on_components(part: ad.AnnData, work: ad.AnnData, comps, offset) -> np.ndarray:
    """Cells of ``part`` (the sketch's genes among its columns) on the components."""
    return _on_matrix(part.X[:, part.var_names.get_indexer(work.var_names)], comps, offset)


def _on_matrix(block, comps, offset) -> np.ndarray:
    """Cells x the sketch's genes (in its order) on the components."""
    block = block @ comps if sp.issparse(block) else np.asarray(block) @ comps
    return np.asarray(block) - offset


def fit_sketch(
    sketch: ad.AnnData, *, extra_genes: Sequence[str], options: SubsetOptions
) -> ad.AnnData:
    """HVGs, PCA, kNN and Leiden (``obs["_sub"]``) of a lineage's sketch.

    Parameters
    ----------
    sketch
        The sketch's cells, all genes (log-normalised ``X``).
    extra_genes
        The lineage's marker and identity genes (always in the PCA).
    options
        ``seed``, ``n_neighbors``, ``resolution``, ``n_top_genes``.

    Returns
    -------
    anndata.AnnData
        The sketch restricted to the PCA's genes, with ``varm["PCs"]`` and ``obsm["X_pca"]``.
    """

    from tmesig.cluster import knn_graph
    from tmesig.cluster import leiden as run_leiden

    work = lineage_pca(sketch, extra_genes=extra_genes, options=options)
    knn_graph(work, n_neighbors=options.n_neighbors, seed=options.seed)
    run_leiden(work, resolution=options.resolution, seed=options.seed, key_added="_sub")
    return work


def sketched_subclusters(
    sub: ad.AnnData,
    *,
    extra_genes: Sequence[str],
    use_identity: bool,
    options: SubsetOptions,
    fitted: SketchFit | None = None,
) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """Sub-clusters of a lineage with more than ``options.sketch_above`` cells.

    A sketch of ``sketch_above`` cells (:func:`sketch_rows`, stratified by
    ``obs['leiden']`` when present) gets the HVGs, PCA and Leiden of :func:`fit_sketch`;
    every cell is projected on the sketch's components, and each cell outside the sketch
    takes the majority sub-cluster of its ``n_neighbors`` nearest sketch cells. With
    ``use_identity`` the kNN graph of *all* cells (in that PCA space) is built for the
    label spreading.

    Parameters
    ----------
    sub
        The lineage's cells (log-normalised ``X``, or ``options.layer``).
    extra_genes
        The lineage's marker and identity genes (always in the PCA).
    use_identity
        Build the kNN graph of all cells.
    options
        ``sketch_above``, ``seed``, ``n_neighbors``, ``resolution``, ``n_top_genes``.
    fitted
        The sketch already fitted and every cell projected, from a backed file
        (:func:`tmesig.subsets._from_file.prefetch_lineages`; ``sub`` may then hold only
        some genes).

    Returns
    -------
    tuple
        Sub-cluster label (str) per cell, and the graph (or ``None``).
    """
    import scanpy as sc
    from sklearn.neighbors import NearestNeighbors

    from tmesig.cluster import knn_graph, transfer_labels

    if fitted is None:
        emb = sub
        if options.layer is not None:
            emb = sc.AnnData(sub.layers[options.layer], obs=sub.obs[[]], var=sub.var[[]])
        strata = sub.obs[SKETCH_STRATA].to_numpy() if SKETCH_STRATA in sub.obs else None
        rows = sketch_rows(strata, int(options.sketch_above), seed=options.seed)
        work = fit_sketch(emb[rows], extra_genes=extra_genes, options=options)
        fitted = SketchFit(rows=rows, work=work, pcs=_project(emb, work))
    rows, work, pcs = fitted.rows, fitted.work, fitted.pcs
    k = min(options.n_neighbors, work.n_obs - 1)
    names, codes = np.unique(work.obs["_sub"].astype(str).to_numpy(), return_inverse=True)
    # both float64 and C-ordered: scikit-learn's fast exact search (ArgKmin) takes mixed
    # dtypes to a chunked Python path, 4.9x slower on 40,000 x 50,000 cells, same neighbours
    ref = np.ascontiguousarray(work.obsm["X_pca"], dtype=np.float64)
    nn = NearestNeighbors(n_neighbors=k).fit(ref)
    idx = nn.kneighbors(np.ascontiguousarray(pcs, dtype=np.float64), return_distance=False)
    labels = transfer_labels(names[codes], idx)  # majority vote, shared with the clustering
    labels[rows] = names[codes]
    graph = None
    if use_identity:
        full = sc.AnnData(np.zeros((sub.n_obs, 1), dtype=np.float32), obsm={"X_pca": pcs})
        knn_graph(full, n_neighbors=k, use_rep="X_pca", seed=options.seed)
        graph = sp.csr_matrix(full.obsp["connectivities"])
    return labels.astype(str), graph
