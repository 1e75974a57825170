"""The clustering stage's computation: genes, PCA (+ Harmony), graph, Leiden; UMAP after it
(:func:`tmesig.cluster.umap_embedding`: in :func:`cluster`, or the workflow's rule ``umap``)."""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from ..input_mode import PANEL, input_mode
from ._genes import n_components, pca_genes
from ._knn import knn_graph
from ._leiden import leiden
from ._scaled_pca import scaled_pca
from ._sketch import SketchOptions, sketch_indices
from ._transfer import knn_to_sketch, transfer_labels
from ._umap import umap_embedding

__all__ = ["cluster", "cluster_marked"]


def _harmony(pcs: np.ndarray, obs, *, key: str, seed: int) -> np.ndarray:
    """Harmony-corrected PCs (cells × components) from ``harmonypy``."""
    import harmonypy

    ho = harmonypy.run_harmony(pcs, obs, [key], random_state=seed, verbose=False)
    z = np.asarray(ho.Z_corr)
    # harmonypy < 2 returns components × cells, >= 2 cells × components
    return np.ascontiguousarray(z if z.shape[0] == pcs.shape[0] else z.T, dtype=np.float32)


def _graph(adata: ad.AnnData, rep: str, *, n_neighbors: int, resolution: float, seed: int) -> None:
    """Neighbours on ``obsm[rep]`` and Leiden, in place."""
    knn_graph(adata, n_neighbors=n_neighbors, use_rep=rep, seed=seed)
    leiden(adata, resolution=resolution, seed=seed)
    adata.obs["leiden"] = adata.obs["leiden"].astype(str)


def _on_sketch(
    adata: ad.AnnData,
    rep: str,
    *,
    sketch: SketchOptions,
    n_neighbors: int,
    resolution: float,
    seed: int,
) -> dict:
    """Graph and Leiden on a sketch; the other cells by nearest sketch cells (in place)."""
    coords = adata.obsm[rep]
    idx = sketch_indices(coords, size=sketch.sketch_size, method=sketch.sketch_method, seed=seed)
    sub = ad.AnnData(obs=pd.DataFrame(index=adata.obs_names[idx]), obsm={rep: coords[idx]})
    _graph(sub, rep, n_neighbors=n_neighbors, resolution=resolution, seed=seed)
    rest = np.setdiff1d(np.arange(adata.n_obs), idx)
    nb, dist = knn_to_sketch(coords, idx, rest, k=n_neighbors, seed=seed)
    labels = np.empty(adata.n_obs, dtype=object)
    labels[idx] = sub.obs["leiden"].to_numpy()
    labels[rest] = transfer_labels(sub.obs["leiden"].to_numpy(), nb)
    adata.obs["leiden"] = labels.astype(str)
    in_sketch = np.zeros(adata.n_obs, dtype=bool)
    in_sketch[idx] = True
    adata.obs["in_sketch"] = in_sketch
    return {
        "method": sketch.sketch_method,
        "size": len(idx),
        "above": int(sketch.sketch_above),
        "space": rep,
        "transfer": (
            f"each other cell: Leiden label by majority of its {nb.shape[1]} nearest sketch "
            f"cells in {rep} (pynndescent), UMAP position their inverse-distance weighted mean"
        ),
    }


def cluster(
    adata: ad.AnnData,
    *,
    n_hvg: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    batch_key: str | None = None,
    seed: int = 0,
    sketch: SketchOptions | None = None,
) -> ad.AnnData:
    """Run the clustering stage in place and return ``adata``.

    Parameters
    ----------
    adata
        QC-passed cells with log-normalised ``X``
        (:func:`tmesig.io.expression.normalise_in_place`).
    n_hvg
        Number of highly variable genes (scanpy ``seurat`` flavour, per batch when
        ``batch_key`` is set).
    n_pcs
        Principal components (capped by the data size).
    n_neighbors
        Neighbours for the kNN graph (and for placing cells outside a sketch).
    resolution
        Leiden resolution.
    batch_key
        obs column to integrate over with Harmony (``harmonypy``); ``None`` skips integration.
    seed
        Seed for PCA, sketch, Leiden and UMAP.
    sketch
        When to cluster on a sketch (default :class:`SketchOptions`: above 200,000 cells, a
        geometric sketch of 100,000). Genes and PCA (and Harmony) always use every cell.

    Returns
    -------
    AnnData
        With ``obs["leiden"]``, ``obs["in_sketch"]`` (every cell ``True`` without a sketch),
        ``obsm["X_pca"]``, ``obsm["X_umap"]`` (:func:`tmesig.cluster.umap_embedding`), with a
        batch key ``obsm["X_pca_harmony"]``, and ``uns["tmesig_cluster"]`` (settings;
        ``sketch``: method, size, transfer).

    Raises
    ------
    InputError
        If the data have fewer than 3 cells or highly variable genes.
    """
    sketch = sketch or SketchOptions()
    large = sketch.applies(adata.n_obs)
    n_hvg = min(n_hvg, adata.n_vars)
    hv_batch = batch_key if batch_key and adata.obs[batch_key].nunique() > 1 else None
    pca_genes(adata, n_hvg=n_hvg, n_pcs=n_pcs, batch_key=hv_batch, chunked=large)
    cluster_marked(
        adata,
        n_hvg=n_hvg,
        n_pcs=n_pcs,
        n_neighbors=n_neighbors,
        resolution=resolution,
        batch_key=batch_key,
        seed=seed,
        sketch=sketch,
    )
    adata.obsm["X_umap"] = umap_embedding(adata)
    return adata


def cluster_marked(
    adata: ad.AnnData,
    *,
    n_hvg: int,
    n_pcs: int,
    n_neighbors: int,
    resolution: float,
    batch_key: str | None,
    seed: int,
    sketch: SketchOptions,
) -> ad.AnnData:
    """:func:`cluster` after the genes are chosen, without UMAP: PCA on
    ``var["highly_variable"]`` onwards (UMAP: :func:`tmesig.cluster.umap_embedding`, the
    workflow's rule ``umap``, which runs beside annotation and scoring).

    ``X`` needs values only in the highly variable genes' columns (the large path reads only
    those: :func:`tmesig.cluster.streamed_expression`).

    Parameters
    ----------
    adata
        Log-normalised ``X`` (at least in the marked columns), ``var["highly_variable"]``.
    n_hvg
        The number of highly variable genes asked for (recorded).
    n_pcs
        Principal components wanted (capped: :func:`tmesig.cluster.n_components`).
    n_neighbors
        Neighbours for the kNN graph (and for placing cells outside a sketch).
    resolution
        Leiden resolution.
    batch_key
        obs column to integrate over with Harmony; ``None`` skips integration.
    seed
        Seed for PCA, sketch, Leiden and UMAP.
    sketch
        When and how to cluster on a sketch.

    Returns
    -------
    AnnData
        As :func:`cluster` returns it, without ``obsm["X_umap"]``.
    """
    large = sketch.applies(adata.n_obs)
    hv_batch = batch_key if batch_key and adata.obs[batch_key].nunique() > 1 else None
    n_comps = n_components(adata, n_pcs=n_pcs)
    if input_mode(adata) == PANEL:  # genes chosen one by one: each scaled to unit variance
        scaled_pca(adata, n_comps=n_comps, seed=seed)
    else:
        sc.pp.pca(adata, n_comps=n_comps, mask_var="highly_variable", random_state=seed)
    rep = "X_pca"
    if hv_batch is not None:
        adata.obsm["X_pca_harmony"] = _harmony(
            adata.obsm["X_pca"], adata.obs, key=batch_key, seed=seed
        )
        rep = "X_pca_harmony"
    graph = {"n_neighbors": n_neighbors, "resolution": resolution, "seed": seed}
    if large:
        sketched = _on_sketch(adata, rep, sketch=sketch, **graph)
    else:
        _graph(adata, rep, **graph)
        adata.obs["in_sketch"] = np.ones(adata.n_obs, dtype=bool)
        sketched = {"method": "none", "size": int(adata.n_obs), "above": int(sketch.sketch_above)}
    adata.obs["leiden"] = adata.obs["leiden"].astype(str).astype("category")
    adata.uns["tmesig_cluster"] = {
        "n_hvg": int(n_hvg),
        "n_pcs": n_comps,
        "n_neighbors": int(n_neighbors),
        "resolution": float(resolution),
        "batch_key": batch_key or "",
        "seed": int(seed),
        "n_clusters": int(adata.obs["leiden"].nunique()),
        "input_mode": input_mode(adata),
        "sketch": sketched,
    }
    return adata
