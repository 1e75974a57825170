"""Reading the expression matrix chunk by chunk (in memory or backed), as CSR blocks."""

from collections.abc import Iterator
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp

from ..io.errors import InputError
from ..io.expression import SIZE_FACTOR, iter_rows, needs_normalising, normalise_block

#: Cells read at a time unless the caller says otherwise.
DEFAULT_CHUNK = 50_000


def _check_chunk_size(chunk_size: int) -> None:
    if int(chunk_size) < 1:
        msg = f"chunk_size must be a positive number of cells, got {chunk_size}; pass e.g. 50_000."
        raise ValueError(msg)


def iter_chunks(adata: ad.AnnData, chunk_size: int) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(start, stop, block)`` over consecutive cells.

    ``block`` is a CSR matrix for sparse data (in memory or backed) and a dense array for
    dense data. Nothing larger than one chunk is materialised. A backed ``clustered.h5ad``
    storing counts (:mod:`tmesig.io.expression`) is log-normalised chunk by chunk.
    """
    _check_chunk_size(chunk_size)
    x = adata.X
    if x is None:
        msg = "adata.X is empty; put log-normalised expression (or counts for 'rank') in X."
        raise InputError(msg)
    factors = None
    if adata.isbacked and needs_normalising(adata):
        factors = adata.obs[SIZE_FACTOR].to_numpy()
    for start, stop, block in iter_rows(x, adata.n_obs, chunk_size=chunk_size):
        if sp.issparse(block) and not block.has_canonical_format:
            block.sum_duplicates()
        if factors is not None:
            block = normalise_block(block, factors[start:stop])
        yield start, stop, block


def csr_parts(block: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``indptr``, ``indices`` and ``data`` of a CSR block, data as float32 or float64."""
    data = block.data
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    return block.indptr, block.indices, data


def iter_csr(adata: ad.AnnData, chunk_size: int) -> Iterator[tuple[int, int, sp.csr_matrix]]:
    """Like :func:`iter_chunks` but always CSR; an in-memory canonical CSR matrix is
    yielded whole, without a copy (it is in memory already)."""
    x = None if adata.isbacked else adata.X  # a backed view reads X at every access
    if isinstance(x, (sp.csr_matrix, sp.csr_array)) and x.has_canonical_format:
        _check_chunk_size(chunk_size)
        yield 0, adata.n_obs, x
        return
    for start, stop, block in iter_chunks(adata, chunk_size):
        yield start, stop, block if sp.issparse(block) else sp.csr_matrix(block)
