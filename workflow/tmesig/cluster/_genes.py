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

__all__ = [
    "highly_variable_chunked",
    "n_components",
    "pca_genes",
    "seurat_batched",
    "seurat_frame",
]

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
    df = seurat_frame(mean, var, index=adata.var_names, n_top_genes=n_top_genes)
    for col in df.columns:
        adata.var[col] = df[col].to_numpy()
    return df


def seurat_frame(
    mean: np.ndarray, var: np.ndarray, *, index: pd.Index, n_top_genes: int
) -> pd.DataFrame:
    """scanpy's ``seurat`` selection from each gene's mean and variance of ``expm1(X)``.

    Parameters
    ----------
    mean
        Per-gene mean of ``expm1`` of the log-normalised values (float64; not modified).
    var
        Their unbiased variance.
    index
        The genes' names.
    n_top_genes
        Genes to select (all genes with a normalised dispersion when fewer).

    Returns
    -------
    DataFrame
        ``means`` (log1p of the mean), ``dispersions`` (log), ``dispersions_norm`` (within
        20 bins of ``means``) and ``highly_variable``, indexed by ``index``.
    """
    mean = np.array(mean, dtype=np.float64)
    mean[mean == 0] = 1e-12
    disp = var / mean
    disp[disp == 0] = np.nan
    df = pd.DataFrame({"means": np.log1p(mean), "dispersions": np.log(disp)}, index=index)
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
    return df


def seurat_batched(
    mean: np.ndarray,
    var: np.ndarray,
    detected: np.ndarray,
    *,
    index: pd.Index,
    n_top_genes: int,
) -> pd.DataFrame:
    """scanpy's ``seurat`` selection per batch, combined as scanpy combines the batches.

    In each batch, the genes it detects are ranked (:func:`seurat_frame`; the others count
    as zero and not selected); per gene, the statistics are averaged over the batches, and
    the genes selected in the most batches (ties: the higher mean normalised dispersion)
    are kept.

    Parameters
    ----------
    mean
        Batches × genes: mean of ``expm1`` of the log-normalised values.
    var
        Batches × genes: their unbiased variance.
    detected
        Batches × genes: whether the gene has a positive value in the batch.
    index
        The genes' names.
    n_top_genes
        Genes to select.

    Returns
    -------
    DataFrame
        ``means``, ``dispersions``, ``dispersions_norm`` (averages over the batches),
        ``highly_variable``, ``highly_variable_nbatches``, ``highly_variable_intersection``,
        indexed by ``index``.
    """
    cols = ["means", "dispersions", "dispersions_norm", "highly_variable"]
    frames = []
    for b in range(mean.shape[0]):
        filt = np.asarray(detected[b], dtype=bool)
        df = seurat_frame(mean[b, filt], var[b, filt], index=index[filt], n_top_genes=n_top_genes)
        missing = pd.DataFrame(np.zeros((int((~filt).sum()), 3)), columns=cols[:3])
        missing["highly_variable"] = False
        missing.index = index[~filt]
        frames.append(pd.concat([df[cols], missing]).loc[index] if (~filt).any() else df[cols])
    df = pd.concat(frames, axis=0)
    df["highly_variable"] = df["highly_variable"].astype(int)
    df = df.groupby(df.index, observed=True).agg(
        {
            "means": "mean",
            "dispersions": "mean",
            "dispersions_norm": "mean",
            "highly_variable": "sum",
        }
    )
    df["highly_variable_nbatches"] = df["highly_variable"]
    df["highly_variable_intersection"] = df["highly_variable_nbatches"] == mean.shape[0]
    df = df.sort_values(
        ["highly_variable_nbatches", "dispersions_norm"], ascending=False, na_position="last"
    )
    df["highly_variable"] = np.arange(df.shape[0]) < n_top_genes
    return df.loc[index]


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
    return n_components(adata, n_pcs=n_pcs)


def n_components(adata: ad.AnnData, *, n_pcs: int) -> int:
    """The principal components of the genes marked in ``var["highly_variable"]``.

    At most ``n_pcs``, a tenth of the genes used (at least 2), and one fewer than cells and
    genes.

    Parameters
    ----------
    adata
        Cells × genes with ``var["highly_variable"]`` (``X`` is not read).
    n_pcs
        Components wanted.

    Returns
    -------
    int
        The number of principal components.

    Raises
    ------
    InputError
        When fewer than 2 components are possible.
    """
    n_used = int(adata.var["highly_variable"].sum())
    n_comps = int(min(n_pcs, adata.n_obs - 1, n_used - 1, max(2, n_used // 10)))
    if n_comps < 2:
        msg = (
            f"too few cells or genes to cluster ({adata.n_obs} cells, {adata.n_vars} genes); "
            "supply more cells"
        )
        raise InputError(msg)
    return n_comps
