"""Sub-clustering of mixed clusters on a targeted panel.

With tens of genes detected per cell, two lineages with few markers on the panel (often T
and B cells) can fall into one Leiden cluster of the whole data. Such a cluster is called
``unassigned`` by :func:`tmesig.annotate.annotate_panel` (two lineages score in it, neither
clearly), which is honest but loses both. Here the cells of each such cluster are
clustered again on their own: PCA on every panel gene over those cells only (the variation
inside the mixture is then mostly the difference between its lineages), a kNN graph and
Leiden (:func:`tmesig.cluster.leiden`), all seeded.
"""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from tmesig.cluster import leiden
from tmesig.constants import UNASSIGNED

__all__ = ["refine_mixed"]

#: Fewest cells a mixed cluster needs to be sub-clustered.
MIN_CELLS = 30


def refine_mixed(
    adata: ad.AnnData,
    labels: pd.Series,
    clusters: pd.DataFrame,
    *,
    min_score: float,
    seed: int = 0,
    resolution: float = 0.5,
) -> pd.Series | None:
    """Cluster labels with every mixed cluster split into sub-clusters, or ``None``.

    Parameters
    ----------
    adata
        Cells x panel genes, log-normalised expression in ``X``.
    labels
        The cluster of every cell (index ``adata.obs_names``).
    clusters
        The cluster table of :func:`tmesig.annotate.annotate_panel` for ``labels``.
    min_score
        A cluster is mixed when it is ``unassigned`` and its best two lineages both score
        at least this.
    seed
        Random state of the PCA, kNN graph and Leiden.
    resolution
        Leiden resolution inside a mixed cluster.

    Returns
    -------
    pandas.Series or None
        Labels (strings; a mixed cluster ``c`` becomes ``c.0``, ``c.1``, ...), or ``None``
        when no cluster is mixed or none could be split.
    """
    score = clusters.filter(like="score_").to_numpy()
    second = -np.sort(-np.nan_to_num(score, nan=0.0), axis=1)[:, 1] if score.shape[1] > 1 else 0
    mixed = clusters.loc[
        (clusters["compartment"] == UNASSIGNED)
        & (second >= min_score)
        & (clusters["n_cells"] >= MIN_CELLS),
        "cluster",
    ]
    out = labels.astype(str).to_numpy(dtype=object).copy()
    split = False
    for name in mixed:
        mask = out == str(name)
        sub = _subclusters(adata[mask].copy(), seed=seed, resolution=resolution)
        if sub is not None and len(set(sub)) > 1:
            out[mask] = [f"{name}.{k}" for k in sub]
            split = True
    if not split:
        return None
    return pd.Series(pd.Categorical(out), index=labels.index, name=labels.name)


def _subclusters(sub: ad.AnnData, *, seed: int, resolution: float) -> np.ndarray | None:
    """Leiden labels of ``sub``'s cells from their own PCA, or ``None`` if too small."""
    n_comps = min(10, sub.n_vars - 1, sub.n_obs - 1)
    if n_comps < 2:
        return None
    sub.obsm.pop("X_pca", None)
    sc.pp.pca(sub, n_comps=n_comps, random_state=seed)
    sc.pp.neighbors(sub, n_neighbors=min(15, sub.n_obs - 1), random_state=seed)
    leiden(sub, resolution=resolution, seed=seed, key_added="_sub")
    return sub.obs["_sub"].astype(str).to_numpy()
