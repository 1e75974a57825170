"""Sub-clusters of a large lineage from a sketch: Leiden on a stratified sample of its
cells, every other cell labelled by kNN transfer in the sketch's PCA space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.io.expression import ROW_CHUNK
from tmesig.io.kept_cells import read_rows

from ._options import SubsetOptions
from ._pca import lineage_pca

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["SKETCH_STRATA", "sketch_rows", "sketched_subclusters"]

#: ``obs`` column the sketch is stratified by when present (the clustering's clusters).
SKETCH_STRATA = "leiden"
#: Cells every stratum keeps (all of them when it has fewer) whatever its share.
MIN_PER_STRATUM = 200


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


def _project_file(adata: ad.AnnData, rows: np.ndarray, work: ad.AnnData) -> np.ndarray:
    """:func:`_project` for the ``rows`` of a backed file, one chunk of the file at a time
    (only the sketch's genes of the rows in that chunk are held)."""
    comps, offset = _loadings(work)
    out = np.empty((rows.size, comps.shape[1]))
    part_of = rows // ROW_CHUNK
    for c in np.unique(part_of):
        sel = np.flatnonzero(part_of == c)
        part = read_rows(adata, rows[sel], genes=work.var_names)
        out[sel] = _on_components(part, work, comps, offset)
    return out


def _loadings(work: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    """The sketch's loadings and the projection of its gene means (the centring)."""
    mean = np.asarray(work.X.mean(axis=0)).ravel()
    comps = np.asarray(work.varm["PCs"], dtype=np.float64)
    return comps, mean @ comps


def _on_components(part: ad.AnnData, work: ad.AnnData, comps, offset) -> np.ndarray:
    """Cells of ``part`` (the sketch's genes among its columns) on the components."""
    block = part.X[:, part.var_names.get_indexer(work.var_names)]
    block = block @ comps if sp.issparse(block) else np.asarray(block) @ comps
    return np.asarray(block) - offset


def sketched_subclusters(
    sub: ad.AnnData,
    *,
    extra_genes: Sequence[str],
    use_identity: bool,
    options: SubsetOptions,
    source: tuple[ad.AnnData, np.ndarray] | None = None,
) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """Sub-clusters of a lineage with more than ``options.sketch_above`` cells.

    A sketch of ``sketch_above`` cells (:func:`sketch_rows`, stratified by
    ``obs['leiden']`` when present) gets the HVGs, PCA and Leiden of
    :func:`tmesig.subsets._pca.lineage_pca`; every cell is projected on the sketch's
    components, and each cell outside the sketch takes the majority sub-cluster of its
    ``n_neighbors`` nearest sketch cells. With ``use_identity`` the kNN graph of *all*
    cells (in that PCA space) is built for the label spreading.

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
    source
        A backed file and the lineage's rows in it (``sub`` may then hold only some
        genes): the sketch's cells are read from it with all genes, and every cell is
        projected one chunk of the file at a time (the same numbers as from ``sub``).

    Returns
    -------
    tuple
        Sub-cluster label (str) per cell, and the graph (or ``None``).
    """
    import scanpy as sc
    from sklearn.neighbors import NearestNeighbors

    from tmesig.cluster import leiden as run_leiden
    from tmesig.cluster import transfer_labels

    emb = sub
    if options.layer is not None:
        emb = sc.AnnData(sub.layers[options.layer], obs=sub.obs[[]], var=sub.var[[]])
    strata = sub.obs[SKETCH_STRATA].to_numpy() if SKETCH_STRATA in sub.obs else None
    rows = sketch_rows(strata, int(options.sketch_above), seed=options.seed)
    sketch = emb[rows] if source is None else read_rows(source[0], source[1][rows])
    work = lineage_pca(sketch, extra_genes=extra_genes, options=options)
    del sketch
    k = min(options.n_neighbors, work.n_obs - 1)
    sc.pp.neighbors(work, n_neighbors=k, random_state=options.seed)
    run_leiden(work, resolution=options.resolution, seed=options.seed, key_added="_sub")
    names, codes = np.unique(work.obs["_sub"].astype(str).to_numpy(), return_inverse=True)
    pcs = _project(emb, work) if source is None else _project_file(*source, work)
    nn = NearestNeighbors(n_neighbors=k).fit(work.obsm["X_pca"])
    idx = nn.kneighbors(pcs, return_distance=False)
    labels = transfer_labels(names[codes], idx)  # majority vote, shared with the clustering
    labels[rows] = names[codes]
    graph = None
    if use_identity:
        full = sc.AnnData(np.zeros((sub.n_obs, 1), dtype=np.float32), obsm={"X_pca": pcs})
        sc.pp.neighbors(full, n_neighbors=k, use_rep="X_pca", random_state=options.seed)
        graph = sp.csr_matrix(full.obsp["connectivities"])
    return labels.astype(str), graph
