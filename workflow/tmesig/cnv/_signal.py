"""Per-cell CNV signal: infercnvpy profiles, CNV clusters, score and clone correlation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ._options import CnvOptions
from ._positions import add_gene_positions
from ._profiles import cnv_profiles

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["COVARIANCE_MAX_WINDOWS", "Signal", "cnv_signal", "loo_cluster_corr"]

#: Up to this many CNV windows the profiles' PCA goes through the windows' covariance matrix
#: (at most 128 MB); above it, ARPACK.
COVARIANCE_MAX_WINDOWS = 4000


@dataclass(frozen=True)
class Signal:
    """Profiles ``x`` (cells x windows), CNV cluster codes, ``cnv_score`` and ``cnv_corr``."""

    x: np.ndarray
    codes: np.ndarray
    score: np.ndarray
    corr: np.ndarray


def cnv_signal(
    adata: ad.AnnData, baseline: np.ndarray, *, groups: np.ndarray, options: CnvOptions
) -> Signal:
    """Profiles against ``baseline``, CNV clusters, per-cell score and correlation.

    Parameters
    ----------
    adata
        Log-normalised expression (see :func:`tmesig.cnv.call_malignant`); modified in place
        (``obsm['X_cnv']``, ``uns['cnv']``, ``obsm['X_cnv_pca']``).
    baseline
        Boolean mask of the cells that define the copy-neutral baseline.
    groups
        Reference group per cell (passed to infercnvpy as one category per group).
    options
        infercnvpy and clustering options.

    Returns
    -------
    Signal
        ``score`` = mean ``|X_cnv|``; ``corr`` = correlation with the mean of the other cells
        of the cell's CNV cluster (0 for singletons).
    """
    add_gene_positions(adata)
    cnv_profiles(adata, baseline, reference_groups=groups, options=options)
    x = adata.obsm["X_cnv"]
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    codes = _cnv_clusters(adata, x, options)
    corr = np.nan_to_num(loo_cluster_corr(x, codes), nan=0.0)
    return Signal(x=x, codes=codes, score=np.abs(x).mean(axis=1), corr=corr)


def _cnv_clusters(adata: ad.AnnData, x: np.ndarray, opts: CnvOptions) -> np.ndarray:
    """CNV clusters (PCA -> kNN -> Leiden, seeded); PCs stored in ``obsm['X_cnv_pca']``."""
    import scanpy as sc
    from sklearn.decomposition import PCA

    from tmesig.cluster import knn_graph, leiden

    seed = opts.seed
    n_comps = int(max(2, min(30, x.shape[0] - 1, x.shape[1] - 1)))
    # exact either way; the covariance route (windows x windows) is several times faster than
    # ARPACK's iterations while the windows are few (tested against ARPACK)
    solver = "covariance_eigh" if x.shape[1] <= COVARIANCE_MAX_WINDOWS else "arpack"
    pcs = PCA(n_components=n_comps, random_state=seed, svd_solver=solver).fit_transform(
        x - x.mean(axis=0)
    )
    adata.obsm["X_cnv_pca"] = pcs
    tmp = sc.AnnData(np.zeros((adata.n_obs, 1), dtype=np.float32), obsm={"X_pca": pcs})
    knn_graph(tmp, n_neighbors=15, use_rep="X_pca", seed=seed)
    leiden(tmp, resolution=opts.resolution, seed=seed)
    return tmp.obs["leiden"].astype(int).to_numpy()


def loo_cluster_corr(x: np.ndarray, codes: np.ndarray, *, chunk: int = 2000) -> np.ndarray:
    """Pearson correlation of each row with the mean of the other rows of its cluster.

    Parameters
    ----------
    x
        Profiles, cells x windows.
    codes
        Cluster code per cell.
    chunk
        Rows computed at a time.

    Returns
    -------
    numpy.ndarray
        One correlation per cell (NaN for singletons).
    """
    out = np.full(x.shape[0], np.nan)
    for k in np.unique(codes):
        rows = np.flatnonzero(codes == k)
        if rows.size < 2:
            continue
        total = x[rows].sum(axis=0)
        # a few rows at a time: the temporaries stay small (row-wise, the same numbers)
        for start in range(0, rows.size, chunk):
            part = rows[start : start + chunk]
            block = x[part]
            others = (total[None, :] - block) / (rows.size - 1)
            a = block - block.mean(axis=1, keepdims=True)
            b = others - others.mean(axis=1, keepdims=True)
            den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[part] = np.where(den > 0, (a * b).sum(axis=1) / den, 0.0)
    return out
