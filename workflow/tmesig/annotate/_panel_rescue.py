"""Unassigned panel clusters called from their resemblance to the clusters already called.

On a sparse panel a lineage spread over many clusters (often the tumour's epithelial cells)
has some clusters whose marker evidence is weak or shared with a second lineage (ambient
collagen, a stromal gene the tumour expresses): :func:`tmesig.annotate.annotate_panel`
leaves them ``unassigned`` although the rest of their profile is that of the lineage's
other clusters. Here each such cluster is compared with the lineages called elsewhere on
the whole panel, not on markers alone:

* a lineage's *profile* is the mean principal-component vector (``obsm["X_pca"]``: every
  panel gene, centred) of the cells of the clusters called that lineage;
* an unassigned cluster's nearest lineage is the one whose profile has the largest cosine
  similarity with the cluster's own mean vector; its relative margin over the runner-up is
  ``(cos_1 - max(cos_2, 0)) / cos_1``;
* the cluster is called that lineage only when two independent lines of evidence agree:
  the lineage also scores at least ``min_score`` on its markers in the cluster, and the
  resemblance is clear (``cos_1 > 0`` and margin at least ``min_margin``). Its confidence
  is that margin. A lineage called nowhere else cannot be reached this way, so a lineage
  with no marker evidence anywhere is never invented.
"""

import anndata as ad
import numpy as np
import pandas as pd

from tmesig.constants import UNASSIGNED

__all__ = ["rescue_unassigned"]


def rescue_unassigned(
    adata: ad.AnnData,
    labels: pd.Series,
    clusters: pd.DataFrame,
    *,
    min_score: float,
    min_margin: float,
    use_rep: str = "X_pca",
) -> pd.DataFrame:
    """The cluster table with unassigned clusters called from their nearest called lineage.

    Parameters
    ----------
    adata
        Cells x panel genes with ``obsm[use_rep]`` (cells in ``labels`` order).
    labels
        The cluster of every cell (as in ``clusters["cluster"]``).
    clusters
        The cluster table of :func:`tmesig.annotate.annotate_panel` (``cluster``,
        ``compartment``, ``confidence`` and ``score_<lineage>`` columns).
    min_score
        Marker score the nearest lineage needs in the cluster.
    min_margin
        Relative cosine margin of the nearest lineage over the runner-up.
    use_rep
        ``obsm`` key of the cell embedding; without it the table is returned unchanged.

    Returns
    -------
    pandas.DataFrame
        A copy of ``clusters``; rescued rows have their ``compartment`` and ``confidence``
        replaced, and ``clusters.attrs["rescued"]`` lists them (cluster -> lineage).
    """
    out = clusters.copy()
    out.attrs["rescued"] = {}
    if use_rep not in adata.obsm:
        return out
    emb = np.asarray(adata.obsm[use_rep], dtype=float)
    names = labels.astype(str).to_numpy()
    keys = out["cluster"].astype(str).to_numpy()
    means = np.vstack([emb[names == k].mean(axis=0) for k in keys])
    called = out["compartment"].to_numpy(dtype=object)
    lineages = [lin for lin in dict.fromkeys(called) if lin != UNASSIGNED]
    if not lineages:
        return out
    sizes = out["n_cells"].to_numpy(dtype=float)
    profiles = np.vstack(
        [np.average(means[called == lin], axis=0, weights=sizes[called == lin]) for lin in lineages]
    )
    cos = _cosine(means, profiles)
    for i in np.flatnonzero(called == UNASSIGNED):
        order = np.argsort(-cos[i], kind="stable")
        best = cos[i, order[0]]
        second = max(cos[i, order[1]], 0.0) if len(order) > 1 else 0.0
        margin = (best - second) / best if best > 0 else 0.0
        lin = lineages[order[0]]
        score = out.get(f"score_{lin}")
        evidence = float(score.iloc[i]) if score is not None else np.nan
        if best > 0 and margin >= min_margin and evidence >= min_score:
            out.iloc[i, out.columns.get_loc("compartment")] = lin
            out.iloc[i, out.columns.get_loc("confidence")] = margin
            out.attrs["rescued"][keys[i]] = lin
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows of ``a`` x rows of ``b``: cosine similarity (0 for a zero vector)."""
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = (a @ b.T) / (na * nb.T)
    return np.nan_to_num(cos, nan=0.0)
