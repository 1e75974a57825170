"""The project's one kNN-graph call: exact up to :data:`EXACT_MAX` cells, pynndescent above.

scanpy builds the graph of more than 4,096 cells with pynndescent, whose numba functions
are compiled anew in every process (not cached on disk): 45 s of a 54 s graph of 100,000
cells in 50 dimensions, paid again by each stage that builds a graph (clustering, lineage
sub-clusters, CNV clusters). scanpy's exact search (``transformer="sklearn"``,
scikit-learn's brute force, the path scanpy itself takes below 4,096 cells) needs no
compilation: 34 s for the same 100,000 cells, 9 s for 50,000 (grows with the square of
the cells). Measured on this machine (2 cores), it stays faster than a first pynndescent
graph up to about 130,000 cells, so :func:`knn_graph` is exact up to :data:`EXACT_MAX`
cells and approximate (pynndescent, without its unused query index:
:func:`~tmesig.cluster._graph_only.graph_only`) above. An exact graph is also the true
one: it does not depend on the seed.
"""

import anndata as ad

from ._graph_only import graph_only

__all__ = ["EXACT_MAX", "knn_graph"]

#: Largest number of cells whose kNN graph is searched exactly (scikit-learn brute force).
EXACT_MAX = 120_000


def knn_graph(
    adata: ad.AnnData,
    *,
    n_neighbors: int,
    use_rep: str | None = None,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
) -> None:
    """``scanpy.pp.neighbors`` on ``adata`` (in place): exact up to ``exact_max`` cells.

    Parameters
    ----------
    adata
        Cells to connect (``obsp["connectivities"]``, ``obsp["distances"]`` are written).
    n_neighbors
        Neighbours per cell, capped at the number of other cells.
    use_rep
        ``obsm`` key of the representation (scanpy's default, ``X_pca`` or ``X``, if None).
    seed
        Seed of the approximate search (above ``exact_max``) and of the connectivities.
    exact_max
        Most cells searched exactly.
    """
    import scanpy as sc

    k = min(int(n_neighbors), adata.n_obs - 1)
    if adata.n_obs <= exact_max:
        sc.pp.neighbors(
            adata, n_neighbors=k, use_rep=use_rep, transformer="sklearn", random_state=seed
        )
        return
    with graph_only():  # the graph only: pynndescent's query index is never used
        sc.pp.neighbors(adata, n_neighbors=k, use_rep=use_rep, random_state=seed)
