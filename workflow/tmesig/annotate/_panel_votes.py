"""Cluster agreement from per-cell lineage votes, net of the background votes.

On a sparse panel a cell's best lineage rests on one or two detected genes, and many of them
are background: ambient RNA (collagens, keratins on every cell of a tumour), or a gene two
cell types share (PECAM1 on plasma cells). The plain share of a cluster's cells voting for
its top lineage then understates a clean cluster whose own lineage has one weak marker.
Here votes for another lineage count against the top one only where the cluster casts them
more often than the rest of the data does.
"""

import numpy as np
import pandas as pd

__all__ = ["agreement"]


def agreement(
    codes: np.ndarray,
    cell_comp: np.ndarray,
    has: np.ndarray,
    top: np.ndarray,
    comps: np.ndarray,
    n_clusters: int,
) -> np.ndarray:
    """Per cluster: the votes of its evidence cells for ``top``, against the excess votes.

    Parameters
    ----------
    codes
        Cluster index (``0 .. n_clusters - 1``) of every cell.
    cell_comp
        Every cell's own best lineage.
    has
        Whether the cell has any marker detected (only those vote).
    top
        Every cluster's top lineage (or ``unassigned``).
    comps
        The lineages.
    n_clusters
        Number of clusters.

    Returns
    -------
    numpy.ndarray
        Agreement per cluster, in ``[0, 1]`` (0 without evidence or top lineage).

    Notes
    -----
    ``v[c, L]`` is the share of cluster ``c``'s cells with marker evidence whose own best
    lineage is ``L``, ``r[c, L]`` that share among the other cells. Votes for another lineage
    count against ``top`` only in excess of ``r`` (a lineage voted for no more often than in
    the rest of the data is background: ambient RNA, a gene two cell types share), so the
    agreement is ``v_top / (v_top + sum_L max(v_L - r_L, 0))`` (``L != top``).
    """
    votes = np.zeros((n_clusters, len(comps)))
    lin = pd.Categorical(cell_comp[has], categories=list(comps)).codes
    ok = lin >= 0
    np.add.at(votes, (codes[has][ok], lin[ok]), 1.0)
    n_ev = votes.sum(axis=1, keepdims=True)
    rest = n_ev.sum() - n_ev
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n_ev > 0, votes / n_ev, 0.0)
        r = np.where(rest > 0, (votes.sum(axis=0) - votes) / rest, 0.0)
    t_idx = pd.Categorical(top, categories=list(comps)).codes
    rows = np.arange(n_clusters)
    v_top = np.where(t_idx >= 0, v[rows, np.maximum(t_idx, 0)], 0.0)
    excess = np.clip(v - r, 0.0, None)
    excess[rows, np.maximum(t_idx, 0)] = 0.0
    denom = v_top + excess.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, v_top / denom, 0.0)
