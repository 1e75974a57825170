"""Detection fraction of markers per cluster, and its contrast with the other cells: the
evidence :func:`tmesig.annotate.annotate_panel` calls clusters from."""

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["cluster_contrast"]


def cluster_contrast(
    adata: ad.AnnData, genes: Sequence[str], *, cluster_key: str = "leiden"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detection fraction per cluster and its contrast with the other cells.

    Parameters
    ----------
    adata
        Cells x genes (``X``: zero where a gene is not detected), clusters in
        ``obs[cluster_key]``.
    genes
        Genes of ``adata`` to tabulate.
    cluster_key
        ``obs`` column with the clusters.

    Returns
    -------
    fraction, contrast : pandas.DataFrame
        Clusters (category order if categorical, else sorted) x genes: the fraction of the
        cluster's cells detecting the gene (at a level of at least :data:`LEVEL_FLOOR` of the
        gene's 0.9 quantile), and that fraction minus the fraction among all other cells
        (``0`` when there are no other cells).
    """
    return _contrast(adata, adata.obs[cluster_key], genes)


#: A cell detects a marker when its level is at least this share of the marker's 0.9 quantile
#: (linear scale, over the cells with any): a gene whose expressing cells hold hundreds of its
#: transcripts (immunoglobulins of plasma cells, collagens of fibroblasts) is not "detected" by
#: the one or two ambient or spilled-over transcripts other cells carry.
LEVEL_FLOOR = 0.1


def _above_floor(m: sp.csc_matrix) -> np.ndarray:
    """Per stored value of ``m`` (cells x genes, log1p values): 1.0 where ``expm1`` of it is at
    least :data:`LEVEL_FLOOR` times its gene's 0.9 quantile, else 0.0."""
    out = np.zeros(m.nnz)
    for j in range(m.shape[1]):
        a, b = m.indptr[j], m.indptr[j + 1]
        if b > a:
            level = np.expm1(m.data[a:b])
            out[a:b] = level >= LEVEL_FLOOR * np.quantile(level, 0.9)
    return out


def _contrast(
    adata: ad.AnnData, labels: pd.Series, genes: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`cluster_contrast` for the cluster labels ``labels`` (one per cell)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        categories = [c for c in labels.cat.categories if (labels == c).any()]
    else:
        categories = sorted(labels.unique(), key=lambda x: (str(type(x)), x))
    codes = pd.Categorical(labels, categories=categories).codes
    var = pd.Index(adata.var_names)
    detected = sp.csc_matrix(adata.X[:, var.get_indexer(list(genes))], dtype=np.float64)
    detected.eliminate_zeros()
    detected.data = _above_floor(detected)
    n_clusters, n_cells = len(categories), len(codes)
    indicator = sp.csr_matrix(
        (np.ones(n_cells), (codes, np.arange(n_cells))), shape=(n_clusters, n_cells)
    )
    per_cluster = np.asarray((indicator @ detected).todense()).reshape(n_clusters, len(genes))
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)[:, None]
    fraction = per_cluster / sizes
    rest = n_cells - sizes
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_fraction = np.where(rest > 0, (per_cluster.sum(axis=0) - per_cluster) / rest, 0.0)
    contrast = np.where(rest > 0, fraction - rest_fraction, 0.0)
    index = pd.Index(categories, dtype=object, name="cluster")
    return (
        pd.DataFrame(fraction, index=index, columns=list(genes)),
        pd.DataFrame(contrast, index=index, columns=list(genes)),
    )
