"""Per-group means and variances of every gene (group and rest), accumulated chunk by chunk.

scanpy's ``rank_genes_groups`` t-tests start from each group's and each group's rest's mean
and variance per gene (``scanpy.preprocessing._utils._get_mean_var``). This module computes
them from one pass over the cells, a chunk at a time (a backed file never held whole), with
scanpy's own arithmetic: a group's (or rest's) ``k``-th cell goes to partial sum
``k % n_threads`` (numba's thread count, as scanpy splits the rows), values added in
float64, squares taken in the data's precision, partial sums added in order, then
``var = sumsq / n - mean ** 2`` scaled by ``n / (n - 1)``. So the statistics equal scanpy's
float for float on sparse data whatever the chunk size, and so do the scores derived from
them. Memory: one chunk plus 4 × groups × threads × genes float64.
"""

from dataclasses import dataclass

import anndata as ad
import numba
import numpy as np
import scipy.sparse as sp

from ..score._chunks import iter_chunks

__all__ = ["GroupMoments", "group_moments"]


@dataclass(frozen=True)
class GroupMoments:
    """Per group (rows) and gene (columns): mean and unbiased variance, in and out of it.

    Attributes
    ----------
    n, n_rest : numpy.ndarray
        Cells in each group and in the rest (the other grouped cells).
    mean, var, mean_rest, var_rest : numpy.ndarray
        Groups × genes, float64.
    """

    n: np.ndarray
    n_rest: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    mean_rest: np.ndarray
    var_rest: np.ndarray


@numba.njit(parallel=True, cache=True)
def _accumulate(data, indices, indptr, codes, pos, pos_rest, acc):  # pragma: no cover - numba
    """Add a CSR chunk into ``acc`` (4 × groups × threads × genes: sum, sumsq, rest sum,
    rest sumsq); ``pos`` / ``pos_rest`` count each group's (rest's) cells seen so far."""
    n_groups, n_threads = acc.shape[1], acc.shape[2]
    for h in numba.prange(n_groups):
        for r in range(len(indptr) - 1):
            g = codes[r]
            if g < 0:
                continue
            if g == h:
                t, k = pos[h] % n_threads, 0
                pos[h] += 1
            else:
                t, k = pos_rest[h] % n_threads, 2
                pos_rest[h] += 1
            for j in range(indptr[r], indptr[r + 1]):
                value = data[j]
                acc[k, h, t, indices[j]] += value
                acc[k + 1, h, t, indices[j]] += value * value


@numba.njit(cache=True)
def _finish(sums, squares, n):  # pragma: no cover - numba
    """scanpy's ``sparse_mean_var_minor_axis`` ending: partial sums added in order."""
    n_threads, n_genes = sums.shape
    means, variances = np.zeros(n_genes), np.zeros(n_genes)
    for c in range(n_genes):
        s, q = 0.0, 0.0
        for t in range(n_threads):
            s += sums[t, c]
            q += squares[t, c]
        means[c] = s / n
        variances[c] = q / n - (s / n) ** 2
    return means, variances


def _mean_var(sums: np.ndarray, squares: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    mean, var = _finish(sums, squares, n)
    if n != 1:  # scanpy's unbiased variance
        var *= n / (n - 1)
    return mean, var


def _block_parts(block) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    csr = block if sp.issparse(block) else sp.csr_matrix(block)
    csr = csr.tocsr()
    data = csr.data
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    return data, csr.indices, csr.indptr


def group_moments(
    adata: ad.AnnData, codes: np.ndarray, *, n_groups: int, chunk_size: int = 10_000
) -> GroupMoments:
    """Each group's and its rest's mean and variance per gene, one chunk of cells at a time.

    Parameters
    ----------
    adata : anndata.AnnData
        Backed or in memory; log-normalised when read
        (:func:`tmesig.score._chunks.iter_chunks`).
    codes : numpy.ndarray
        Per cell its group, ``0 .. n_groups - 1``; ``-1``: in no group and no rest.
    n_groups : int
        Number of groups.
    chunk_size : int
        Cells read at a time.

    Returns
    -------
    GroupMoments
        Equal to scanpy's ``_get_mean_var`` of ``X[group]`` and ``X[rest]`` (sparse data).
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_threads = numba.get_num_threads()
    acc = np.zeros((4, n_groups, n_threads, adata.n_vars))
    pos = np.zeros(n_groups, dtype=np.int64)
    pos_rest = np.zeros(n_groups, dtype=np.int64)
    for start, stop, block in iter_chunks(adata, chunk_size):
        data, indices, indptr = _block_parts(block)
        _accumulate(data, indices, indptr, codes[start:stop], pos, pos_rest, acc)
        del block, data, indices, indptr
    parts = [_mean_var(acc[0, h], acc[1, h], pos[h]) for h in range(n_groups)]
    rest = [_mean_var(acc[2, h], acc[3, h], pos_rest[h]) for h in range(n_groups)]
    empty = np.zeros((0, adata.n_vars))
    return GroupMoments(
        n=pos,
        n_rest=pos_rest,
        mean=np.array([m for m, _ in parts]) if parts else empty,
        var=np.array([v for _, v in parts]) if parts else empty,
        mean_rest=np.array([m for m, _ in rest]) if rest else empty,
        var_rest=np.array([v for _, v in rest]) if rest else empty,
    )
