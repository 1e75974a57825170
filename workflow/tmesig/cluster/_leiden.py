"""The one Leiden call of tmesig (cells, lineage sub-clusters, CNV clusters)."""

import anndata as ad
import scanpy as sc

__all__ = ["leiden"]


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
