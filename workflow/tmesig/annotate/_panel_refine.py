"""Sub-clustering of mixed clusters on a targeted panel, and split-off of disjoint ones.

With tens of genes detected per cell, two lineages with few markers on the panel (often T
and B cells) can fall into one Leiden cluster of the whole data. Such a cluster is called
``unassigned`` by :func:`tmesig.annotate.annotate_panel` (two lineages score in it, neither
clearly), which is honest but loses both. Here the cells of each such cluster are
clustered again on their own: PCA on every panel gene over those cells only (the variation
inside the mixture is then mostly the difference between its lineages), a kNN graph and
Leiden (:func:`tmesig.cluster.leiden`), all seeded.

A cluster can also be called confidently although part of it is another lineage whose only
marker on the panel is sparse (plasma cells inside a T-cell cluster, with one plasma marker
detected in a fifth of them): :func:`split_all` sub-clusters every cluster on trial and
:func:`keep_disjoint` keeps only the sub-clusters whose marker evidence is disjoint from
the rest of their cluster (their own lineage's markers up, the cluster's lineage's down).
"""

import anndata as ad
import numpy as np
import pandas as pd

from tmesig.cluster import knn_graph, leiden
from tmesig.cluster._scaled_pca import scaled_pca
from tmesig.constants import UNASSIGNED

__all__ = ["keep_disjoint", "refine_mixed", "split_all"]

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
    sub.var["highly_variable"] = True
    scaled_pca(sub, n_comps=n_comps, seed=seed)  # as the panel's clustering
    knn_graph(sub, n_neighbors=15, seed=seed)
    leiden(sub, resolution=resolution, seed=seed, key_added="_sub")
    return sub.obs["_sub"].astype(str).to_numpy()


def split_all(
    adata: ad.AnnData,
    labels: pd.Series,
    *,
    seed: int = 0,
    resolution: float = 0.5,
    min_cells: int = 2 * MIN_CELLS,
) -> pd.Series | None:
    """Trial labels: every cluster of at least ``min_cells`` cells split into sub-clusters.

    Parameters
    ----------
    adata
        Cells x panel genes, log-normalised expression in ``X``.
    labels
        The cluster of every cell (index ``adata.obs_names``).
    seed
        Random state of the PCA, kNN graph and Leiden.
    resolution
        Leiden resolution inside a cluster.
    min_cells
        Smallest cluster split.

    Returns
    -------
    pandas.Series or None
        Labels (strings; a split cluster ``c`` becomes ``c/0``, ``c/1``, ...), or ``None``
        when no cluster could be split.
    """
    out = labels.astype(str).to_numpy(dtype=object).copy()
    names, sizes = np.unique(out, return_counts=True)
    split = False
    for name in names[sizes >= min_cells]:
        mask = out == name
        sub = _subclusters(adata[mask].copy(), seed=seed, resolution=resolution)
        if sub is not None and len(set(sub)) > 1:
            out[mask] = [f"{name}/{k}" for k in sub]
            split = True
    if not split:
        return None
    return pd.Series(pd.Categorical(out), index=labels.index, name=labels.name)


def keep_disjoint(
    adata: ad.AnnData,
    labels: pd.Series,
    trial: pd.Series,
    calls: pd.DataFrame,
    used: dict[str, list[str]],
    *,
    min_score: float,
    top_k: int = 3,
) -> pd.Series | None:
    """``labels`` with the sub-clusters of ``trial`` kept whose marker evidence is disjoint.

    Within a parent cluster, ``P`` is the lineage called on most of its cells (by the
    sub-cluster calls ``calls``). A sub-cluster called another lineage ``L`` keeps its own
    label when, against the parent's cells called ``P``, it detects ``L``'s markers at least
    ``min_score`` more often and ``P``'s markers at most half as often (mean of the ``top_k``
    best markers of each); every other cell keeps its parent's label.
    """
    comp = dict(zip(calls["cluster"].astype(str), calls["compartment"], strict=True))
    t = trial.astype(str).to_numpy(dtype=object)
    out = labels.astype(str).to_numpy(dtype=object).copy()
    parent = np.array([x.rsplit("/", 1)[0] for x in t], dtype=object)
    split = False
    for p in np.unique(parent[t != out]):
        subs = sorted(set(t[parent == p]))
        sizes = pd.Series({k: int((t == k).sum()) for k in subs})
        called = pd.Series({k: comp[k] for k in subs})
        by_lineage = sizes[called != UNASSIGNED].groupby(called[called != UNASSIGNED]).sum()
        if len(by_lineage) < 2:
            continue
        main = by_lineage.idxmax()
        ref = np.isin(t, called.index[called == main].tolist())
        for k in called.index[(called != main) & (called != UNASSIGNED)]:
            mask = t == k
            gain = _evidence(adata, mask, ref, used.get(called[k], []), top_k)
            keep = _evidence(adata, ref, mask, used.get(main, []), top_k)
            if gain[0] - gain[1] >= min_score and gain[1] >= 0 and keep[1] <= 0.5 * keep[0]:
                out[mask] = str(k).replace("/", ".")
                split = True
    if not split:
        return None
    return pd.Series(pd.Categorical(out), index=labels.index, name=labels.name)


def _evidence(
    adata: ad.AnnData, a: np.ndarray, b: np.ndarray, genes: list[str], top_k: int
) -> tuple[float, float]:
    """Mean detection of ``genes``' ``top_k`` best in cells ``a``, and of the same in ``b``."""
    if not genes:
        return 0.0, 0.0
    idx = pd.Index(adata.var_names).get_indexer(genes)
    x = adata.X[:, idx]
    det = (x.toarray() if hasattr(x, "toarray") else np.asarray(x)) > 0
    fa, fb = det[a].mean(axis=0), det[b].mean(axis=0)
    best = np.argsort(-fa, kind="stable")[: min(top_k, len(genes))]
    return float(fa[best].mean()), float(fb[best].mean())
