"""A lineage's own PCA: its HVGs plus its marker genes (sub-clustering and the sketch)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._options import SubsetOptions

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["lineage_pca"]


def lineage_pca(
    sub: ad.AnnData, *, extra_genes: Sequence[str], options: SubsetOptions
) -> ad.AnnData:
    """The lineage's cells on its HVGs + marker genes, with ``obsm['X_pca']`` (seeded) and
    the loadings in ``varm['PCs']``.

    Parameters
    ----------
    sub
        The lineage's cells (log-normalised ``X``).
    extra_genes
        Genes always kept (the lineage's marker and identity genes).
    options
        ``n_top_genes``, ``seed``.

    Returns
    -------
    anndata.AnnData
        A copy restricted to the kept genes.
    """
    import scanpy as sc

    work = sub.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.highly_variable_genes(work, n_top_genes=min(options.n_top_genes, work.n_vars))
    keep = work.var["highly_variable"].to_numpy() | work.var_names.isin(list(extra_genes))
    work = work[:, keep].copy()
    n_comps = int(max(2, min(20, work.n_obs - 2, work.n_vars - 1)))
    sc.pp.pca(work, n_comps=n_comps, random_state=options.seed)
    return work
