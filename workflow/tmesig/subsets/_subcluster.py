"""Sub-clusters of one lineage and the kNN graph used for label propagation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ._markers import Subset
from ._options import SubsetOptions
from ._pca import lineage_pca
from ._sketch import SketchFit, sketched_subclusters

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["subclusters"]


def subclusters(
    sub: ad.AnnData,
    lin_subsets: Sequence[Subset],
    *,
    use_identity: bool,
    options: SubsetOptions,
    fitted: SketchFit | None = None,
) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """Sub-cluster labels (str) of a lineage's cells and their kNN graph.

    Lineages with fewer than ``options.min_cells_subcluster`` cells are one sub-cluster
    (``"0"``); their graph is still built (for propagation) when ``use_identity`` and the
    lineage has at least 5 cells, else it is ``None``. ``fitted`` (a sketch fitted from a
    backed file) is passed on to :func:`sketched_subclusters`.
    """
    n = sub.n_obs
    labels, graph = None, None
    if options.sketch_above is not None and n > options.sketch_above:
        marker_genes = [g for s in lin_subsets for g in (*s.genes, *s.identity)]
        return sketched_subclusters(
            sub,
            extra_genes=marker_genes,
            use_identity=use_identity,
            options=options,
            fitted=fitted,
        )
    if n >= options.min_cells_subcluster or (use_identity and n >= 5):
        marker_genes = [g for s in lin_subsets for g in (*s.genes, *s.identity)]
        emb = sub
        if options.layer is not None:
            emb = sub.copy()
            emb.X = emb.layers[options.layer]
        labels, graph = _knn_leiden(
            emb,
            extra_genes=marker_genes,
            options=options,
            leiden=n >= options.min_cells_subcluster,
        )
    if n < options.min_cells_subcluster:
        labels = np.zeros(n, dtype=int).astype(str)
    return labels, graph


def _knn_leiden(
    sub: ad.AnnData,
    *,
    extra_genes: Sequence[str],
    options: SubsetOptions,
    leiden: bool = True,
) -> tuple[np.ndarray | None, sp.csr_matrix]:
    """Leiden labels (str; None without ``leiden``) and the kNN connectivities of one lineage.

    HVGs of the lineage's cells + the lineage's marker genes, PCA, kNN (seeded).
    """

    from tmesig.cluster import knn_graph
    from tmesig.cluster import leiden as run_leiden

    seed = options.seed
    work = lineage_pca(sub, extra_genes=extra_genes, options=options)
    knn_graph(work, n_neighbors=options.n_neighbors, seed=seed)
    graph = sp.csr_matrix(work.obsp["connectivities"])
    if not leiden:
        return None, graph
    run_leiden(work, resolution=options.resolution, seed=seed, key_added="_sub")
    return work.obs["_sub"].astype(str).to_numpy(), graph
