"""Per-cell QC metrics read chunk by chunk: total counts, genes detected, % mitochondrial.

The matrix is ``layers["counts"]`` when the AnnData has one, else ``X`` (the ingested values:
counts, or the given log values in the normalised mode). A backed AnnData is read a chunk of
cells at a time (:func:`tmesig.score._chunks.iter_chunks`): the whole matrix is never in memory.
"""

from collections.abc import Iterator
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..score._chunks import DEFAULT_CHUNK, iter_chunks

__all__ = ["count_rows", "iter_count_blocks", "qc_metrics"]


def _counts_matrix(adata: ad.AnnData) -> Any:
    """``layers["counts"]`` when present (in memory, also for a backed AnnData), else None."""
    return adata.layers["counts"] if "counts" in adata.layers else None


def iter_count_blocks(
    adata: ad.AnnData, *, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[tuple[int, int, sp.csr_matrix]]:
    """Yield ``(start, stop, block)``: consecutive cells of the counts (or X) as CSR float64.

    Parameters
    ----------
    adata
        Cells × genes, in memory or backed.
    chunk_size
        Cells per block.

    Yields
    ------
    tuple
        First cell, cell after the last, CSR float64 block with explicit zeros removed.
    """
    layer = _counts_matrix(adata)
    if layer is None:
        blocks = iter_chunks(adata, chunk_size)
    else:
        n = adata.n_obs
        blocks = (
            (s, min(s + chunk_size, n), layer[s : min(s + chunk_size, n)])
            for s in range(0, n, chunk_size)
        )
    for start, stop, block in blocks:
        m = sp.csr_matrix(block, dtype=np.float64)
        m.eliminate_zeros()
        yield start, stop, m


def count_rows(adata: ad.AnnData, rows: np.ndarray) -> sp.csr_matrix:
    """The counts (or X) of the cells ``rows`` (sorted positions) as CSR (dtype as stored).

    A backed AnnData reads only those rows from the file.

    Parameters
    ----------
    adata
        Cells × genes, in memory or backed.
    rows
        Sorted integer positions of the cells.

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    layer = _counts_matrix(adata)
    x = layer if layer is not None else adata.X
    return sp.csr_matrix(x[np.asarray(rows, dtype=np.int64)])


def qc_metrics(
    adata: ad.AnnData, *, normalised: bool = False, chunk_size: int = DEFAULT_CHUNK
) -> pd.DataFrame:
    """Per-cell total counts, genes detected and mitochondrial percentage.

    Mitochondrial genes are those whose symbol starts with ``MT-``; when a dataset has none
    (gene-subset matrices), ``pct_mito`` is NaN and the mitochondrial filter is skipped.

    Parameters
    ----------
    adata
        Cells × genes, in memory or backed: ``layers["counts"]`` when present, else ``X``.
    normalised
        The matrix holds log-normalised values (no counts): ``total_counts`` is NaN and
        ``pct_mito`` is the share of ``expm1`` of the values (the normalised counts).
    chunk_size
        Cells read at a time.

    Returns
    -------
    DataFrame
        ``total_counts``, ``n_genes`` and ``pct_mito`` per cell (index: ``obs_names``).
    """
    n = adata.n_obs
    total, genes, mt = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n)
    mito = np.flatnonzero(np.asarray(adata.var_names.str.upper().str.startswith("MT-")))
    for start, stop, x in iter_count_blocks(adata, chunk_size=chunk_size):
        genes[start:stop] = np.diff(x.indptr)
        if normalised:
            x.data = np.expm1(x.data)
        total[start:stop] = np.asarray(x.sum(axis=1)).ravel()
        if mito.size:
            mt[start:stop] = np.asarray(x[:, mito].sum(axis=1)).ravel()
    if mito.size:
        pct = np.divide(100.0 * mt, total, out=np.zeros_like(total), where=total > 0)
    else:
        pct = np.full(n, np.nan)
    if normalised:
        total = np.full(n, np.nan)
    return pd.DataFrame(
        {"total_counts": total, "n_genes": genes, "pct_mito": pct}, index=adata.obs_names
    )
