"""The genes of the PCA: highly variable genes (scanpy's ``seurat`` flavour), bounded memory.

scanpy's ``seurat`` flavour copies the whole matrix twice (``X.copy()`` then ``expm1``). On
a large dataset without a batch key, :func:`highly_variable_chunked` computes the same
per-gene mean and variance of ``expm1(X)`` a block of cells at a time (one block's copy) and
selects the genes as scanpy does: dispersion ``var / mean``, log, normalised within 20 bins of
``log1p(mean)`` (a bin of one gene: normalised dispersion 1), the ``n_top`` highest. With a
batch key, scanpy's batched path already copies one batch at a time and is used as it is.
"""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from ..io.errors import InputError

__all__ = ["highly_variable_chunked", "pca_genes"]

_N_BINS = 20
_BLOCK = 50_000


def _mean_var_expm1(x, *, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and unbiased variance of ``expm1(x)`` (float64), ``block`` rows at a time."""
    n, m = x.shape
    s1, s2 = np.zeros(m), np.zeros(m)
    for start in range(0, n, block):
        part = x[start : start + block]
        # expm1 in the matrix's precision (as scanpy), sums in float64; one block's copy
        part = part.expm1() if sp.issparse(part) else np.expm1(part)
        part = part.astype(np.float64)
        square = part.multiply(part) if sp.issparse(part) else part * part
        s1 += np.asarray(part.sum(axis=0)).ravel()
        s2 += np.asarray(square.sum(axis=0)).ravel()
    mean = s1 / n
    var = (s2 - n * mean**2) / max(n - 1, 1)
    return mean, np.maximum(var, 0.0)


def highly_variable_chunked(
    adata: ad.AnnData, *, n_top_genes: int, block: int = _BLOCK
) -> pd.DataFrame:
    """scanpy's ``seurat`` highly variable genes without copying ``X`` (in place).

    Parameters
    ----------
    adata
        Log-normalised ``X`` (CSR or dense).
    n_top_genes
        Genes to select.
    block
        Cells per block.

    Returns
    -------
    DataFrame
        Per gene ``means``, ``dispersions``, ``dispersions_norm``, ``highly_variable`` (also
        set in ``adata.var``).
    """
    mean, var = _mean_var_expm1(adata.X, block=block)
    mean[mean == 0] = 1e-12
    disp = var / mean
    disp[disp == 0] = np.nan
    df = pd.DataFrame({"means": np.log1p(mean), "dispersions": np.log(disp)}, index=adata.var_names)
    bins = pd.cut(df["means"], bins=_N_BINS)
    stats = df.groupby(bins, observed=True)["dispersions"].agg(avg="mean", dev="std")
    single = stats["dev"].isnull()
    stats.loc[single, "dev"] = stats.loc[single, "avg"]
    stats.loc[single, "avg"] = 0
    per_gene = stats.loc[bins].set_index(df.index)
    df["dispersions_norm"] = (df["dispersions"] - per_gene["avg"]) / per_gene["dev"]
    norm = df["dispersions_norm"].to_numpy()
    finite = np.sort(norm[~np.isnan(norm)])[::-1]
    cut = finite[min(n_top_genes, finite.size) - 1] if finite.size else np.inf
    df["highly_variable"] = np.nan_to_num(norm, nan=-np.inf) >= cut
    for col in df.columns:
        adata.var[col] = df[col].to_numpy()
    return df


def pca_genes(
    adata: ad.AnnData, *, n_hvg: int, n_pcs: int, batch_key: str | None, chunked: bool = False
) -> int:
    """Mark the genes of the PCA in ``var["highly_variable"]``; return the components to use.

    Fewer genes than ``n_hvg`` (a panel): every gene, no selection. Components: at most
    ``n_pcs``, a tenth of the genes used (at least 2), and one fewer than cells and genes.

    Parameters
    ----------
    adata
        Log-normalised ``X``.
    n_hvg
        Highly variable genes to select (scanpy ``seurat`` flavour).
    n_pcs
        Components wanted.
    batch_key
        obs column: genes selected per batch (scanpy), or ``None``.
    chunked
        Without a batch key, :func:`highly_variable_chunked` (no copy of ``X``) instead of
        scanpy's function (the same selection).

    Returns
    -------
    int
        The number of principal components.

    Raises
    ------
    InputError
        When fewer than 2 components are possible.
    """
    if n_hvg < adata.n_vars:
        if chunked and batch_key is None:
            highly_variable_chunked(adata, n_top_genes=n_hvg)
        else:
            sc.pp.highly_variable_genes(adata, n_top_genes=n_hvg, batch_key=batch_key)
    else:
        adata.var["highly_variable"] = True
    n_used = int(adata.var["highly_variable"].sum())
    n_comps = int(min(n_pcs, adata.n_obs - 1, n_used - 1, max(2, n_used // 10)))
    if n_comps < 2:
        msg = (
            f"too few cells or genes to cluster ({adata.n_obs} cells, {adata.n_vars} genes); "
            "supply more cells"
        )
        raise InputError(msg)
    return n_comps
