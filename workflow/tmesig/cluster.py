"""Clustering: normalise, log1p, highly variable genes, PCA, neighbours, Leiden, UMAP.

All steps are scanpy's, seeded. ``X`` keeps every gene (log-normalised); the highly
variable genes are only marked in ``var["highly_variable"]`` and used for the PCA.

The input mode (:func:`tmesig.input_mode.input_mode`) adapts the first steps: ``normalised``
input is used as given (no normalisation, no ``log1p``); ``panel`` counts are scaled to the
median total of the cells rather than 10,000 (a panel cell has a few hundred counts). With
no more genes than ``n_hvg``, every gene is used; with few genes, fewer principal components
(at most a tenth of the genes used, at least 2).
"""

import anndata as ad
import numpy as np
import scanpy as sc

from .input_mode import NORMALISED, PANEL, input_mode
from .io.errors import InputError

__all__ = ["cluster", "leiden", "normalize"]


def normalize(adata: ad.AnnData, *, target_sum: float = 1e4) -> None:
    """Set ``X`` to ``log1p`` of counts scaled to ``target_sum`` per cell (in place).

    Parameters
    ----------
    adata
        Data with raw counts in ``layers["counts"]``.
    target_sum
        Counts per cell after normalisation.
    """
    adata.X = adata.layers["counts"].copy()
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)


def leiden(adata: ad.AnnData, *, resolution: float, seed: int, key_added: str = "leiden") -> None:
    """Leiden clusters of ``adata``'s neighbour graph into ``obs[key_added]`` (in place).

    The one Leiden call of tmesig (cells, lineage sub-clusters, CNV clusters): scanpy's
    igraph flavour, 2 iterations, undirected graph, seeded.

    Parameters
    ----------
    adata
        Data with a neighbour graph (``sc.pp.neighbors``).
    resolution
        Leiden resolution (higher: more clusters).
    seed
        Random state.
    key_added
        ``obs`` column for the cluster labels.
    """
    sc.tl.leiden(
        adata,
        resolution=resolution,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        random_state=seed,
        key_added=key_added,
    )


def _normalise_for(adata: ad.AnnData, mode: str, target_sum: float) -> str:
    """Set ``X`` for clustering in the given input mode (in place); describe what was done."""
    if mode == NORMALISED:
        adata.X = adata.X.astype(np.float32)
        return "none: input normalised, X used as given"
    if mode == PANEL:
        adata.X = adata.layers["counts"].copy()
        sc.pp.normalize_total(adata)
        sc.pp.log1p(adata)
        return "log1p of counts scaled to the median total per cell (panel)"
    normalize(adata, target_sum=target_sum)
    return f"log1p of counts scaled to {target_sum:g} per cell"


def _pca_genes(adata: ad.AnnData, *, n_hvg: int, n_pcs: int, batch_key: str | None) -> int:
    """Mark the genes of the PCA in ``var["highly_variable"]``; return the components to use.

    Fewer genes than ``n_hvg`` (a panel): every gene, no selection. Components: at most
    ``n_pcs``, a tenth of the genes used (at least 2), and one fewer than cells and genes;
    fewer than 2 is an :class:`InputError`.
    """
    if n_hvg < adata.n_vars:
        sc.pp.highly_variable_genes(adata, n_top_genes=n_hvg, batch_key=batch_key)
    else:
        adata.var["highly_variable"] = True
    n_used = int(adata.var["highly_variable"].sum())
    n_comps = int(min(n_pcs, adata.n_obs - 1, n_used - 1, max(2, n_used // 10)))
    if n_comps < 2:
        msg = (
            f"too few cells or genes to cluster ({adata.n_obs} cells, {adata.n_vars} genes); "
            "supply more cells"
        )
        raise InputError(msg)
    return n_comps


def _harmony(pcs: np.ndarray, obs, *, key: str, seed: int) -> np.ndarray:
    """Harmony-corrected PCs (cells × components) from ``harmonypy``."""
    import harmonypy

    ho = harmonypy.run_harmony(pcs, obs, [key], random_state=seed, verbose=False)
    z = np.asarray(ho.Z_corr)
    # harmonypy < 2 returns components × cells, >= 2 cells × components
    return np.ascontiguousarray(z if z.shape[0] == pcs.shape[0] else z.T, dtype=np.float32)


def cluster(
    adata: ad.AnnData,
    *,
    n_hvg: int = 2000,
    n_pcs: int = 30,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    batch_key: str | None = None,
    target_sum: float = 1e4,
    seed: int = 0,
) -> ad.AnnData:
    """Run the clustering stage in place and return ``adata``.

    Parameters
    ----------
    adata
        QC-passed cells with counts in ``layers["counts"]``.
    n_hvg
        Number of highly variable genes (scanpy ``seurat`` flavour, per batch when
        ``batch_key`` is set).
    n_pcs
        Principal components (capped by the data size).
    n_neighbors
        Neighbours for the kNN graph.
    resolution
        Leiden resolution.
    batch_key
        obs column to integrate over with Harmony (``harmonypy``); ``None`` skips integration.
    target_sum
        Counts per cell after normalisation (``panel`` input: the median total instead;
        ``normalised`` input is not normalised again).
    seed
        Seed for PCA, Leiden and UMAP.

    Returns
    -------
    AnnData
        With ``obs["leiden"]``, ``obsm["X_pca"]``, ``obsm["X_umap"]`` and, with a batch key,
        ``obsm["X_pca_harmony"]``.

    Raises
    ------
    InputError
        If the data have fewer than 3 cells or highly variable genes.
    """
    mode = input_mode(adata)
    done = adata.uns.get("tmesig_expression")  # X log-normalised already (io.expression)
    normalisation = done["normalisation"] if done else _normalise_for(adata, mode, target_sum)
    n_hvg = min(n_hvg, adata.n_vars)
    hv_batch = batch_key if batch_key and adata.obs[batch_key].nunique() > 1 else None
    n_comps = _pca_genes(adata, n_hvg=n_hvg, n_pcs=n_pcs, batch_key=hv_batch)
    sc.pp.pca(adata, n_comps=n_comps, mask_var="highly_variable", random_state=seed)
    rep = "X_pca"
    if hv_batch is not None:
        adata.obsm["X_pca_harmony"] = _harmony(
            adata.obsm["X_pca"], adata.obs, key=batch_key, seed=seed
        )
        rep = "X_pca_harmony"
    sc.pp.neighbors(
        adata, n_neighbors=min(n_neighbors, adata.n_obs - 1), use_rep=rep, random_state=seed
    )
    leiden(adata, resolution=resolution, seed=seed)
    sc.tl.umap(adata, random_state=seed)
    adata.obs["leiden"] = adata.obs["leiden"].astype(str).astype("category")
    adata.uns["tmesig_cluster"] = {
        "n_hvg": int(n_hvg),
        "n_pcs": n_comps,
        "n_neighbors": int(n_neighbors),
        "resolution": float(resolution),
        "batch_key": batch_key or "",
        "seed": int(seed),
        "n_clusters": int(adata.obs["leiden"].nunique()),
        "input_mode": mode,
        "normalisation": normalisation,
    }
    adata.obsm["X_umap"] = adata.obsm["X_umap"].astype(np.float32)
    return adata
