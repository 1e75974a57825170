"""Some cells of a backed ``clustered.h5ad``, log-normalised as they are read.

:func:`read_rows` reads one selection of cells (and genes); :func:`read_row_sets` and
:func:`iter_row_sets` serve several selections in **one** pass over the file, so a stage that
needs, say, the marker genes of every lineage's cells and all genes of each lineage's sketch
decompresses the file once rather than once per lineage and per purpose. A file chunk whose
wanted cells are few (under :data:`SPARSE_SHARE` of its rows) is read cell by cell, only the
compressed blocks that hold those cells; a denser chunk is read whole. Either way the numbers
are those of the whole-matrix read, bit for bit.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import scipy.sparse as sp

from .expression import (
    EXPRESSION_KEY,
    LOG_NORMALISED,
    ROW_CHUNK,
    SIZE_FACTOR,
    _gene_columns,
    _stack_csr,
    needs_normalising,
    normalise_block,
)

__all__ = ["SPARSE_SHARE", "RowRequest", "iter_row_sets", "read_row_sets", "read_rows"]

#: A chunk whose wanted cells are fewer than this share of its rows is read cell by cell
#: (measured on a 1,000,000-cell gzip file: ~0.6 ms per cell read alone, ~0.13 ms per cell
#: of a whole chunk, so cell by cell pays below about a fifth).
SPARSE_SHARE = 0.1


@dataclass(frozen=True)
class RowRequest:
    """One selection of a backed file.

    Attributes
    ----------
    rows
        Row indices, increasing and unique (or a boolean mask).
    genes
        Keep only these genes (those in the file, in its order); None: all.
    """

    rows: np.ndarray
    genes: Sequence[str] | None = None


def read_rows(
    adata: ad.AnnData,
    rows: np.ndarray,
    *,
    genes: Sequence[str] | None = None,
    chunk_size: int = ROW_CHUNK,
) -> ad.AnnData:
    """Some cells of ``adata`` in memory, log-normalised when the file stores counts.

    Parameters
    ----------
    adata
        In memory (then ``adata[rows]``, a view, is returned) or backed
        (:func:`tmesig.io.expression.read_expression` with ``backed=True``): the rows are
        read a chunk of cells at a time and each chunk is log-normalised with its cells'
        ``obs["size_factor"]`` (the numbers of the in-memory read, bit for bit).
    rows
        Row indices, increasing (or a boolean mask).
    genes
        Keep only these genes (those in ``adata``, in its order); None: all.
    chunk_size
        Cells read at a time from a backed file.

    Returns
    -------
    anndata.AnnData
        The cells (``obs``, ``obsm`` rows, ``var``, ``varm``, ``uns``); never ``obsp``.
    """
    if not adata.isbacked:
        rows = _as_rows(rows, check=False)
        if genes is None:
            return adata[rows]
        return adata[rows, _columns(adata, genes)]
    return read_row_sets(adata, [RowRequest(rows, genes)], chunk_size=chunk_size)[0]


def read_row_sets(
    adata: ad.AnnData, requests: Sequence[RowRequest], *, chunk_size: int = ROW_CHUNK
) -> list[ad.AnnData]:
    """Several selections of a backed file, read in one pass.

    Parameters
    ----------
    adata
        Backed (:func:`tmesig.io.expression.read_expression` with ``backed=True``).
    requests
        The selections.
    chunk_size
        Cells of the file read at a time.

    Returns
    -------
    list of anndata.AnnData
        One per request, each what :func:`read_rows` returns for it.
    """
    parts: list[list] = [[] for _ in requests]
    for k, _, block in iter_row_sets(adata, requests, chunk_size=chunk_size):
        parts[k].append(block)
    out = []
    for k, req in enumerate(requests):
        rows, cols = _as_rows(req.rows), _columns(adata, req.genes)
        out.append(_assemble(adata, rows, cols, parts[k]))
        parts[k] = []
    return out


def iter_row_sets(
    adata: ad.AnnData, requests: Sequence[RowRequest], *, chunk_size: int = ROW_CHUNK
) -> Iterator[tuple[int, np.ndarray, object]]:
    """The selections of a backed file, one chunk of the file at a time.

    Parameters
    ----------
    adata
        Backed.
    requests
        The selections.
    chunk_size
        Cells of the file read at a time.

    Yields
    ------
    tuple
        ``(k, positions, block)``: request ``k``, the positions (in its ``rows``) of the
        cells of this chunk, and their values (log-normalised when the file stores counts;
        CSR for sparse data) in the request's genes.
    """
    wanted = [(_as_rows(r.rows), _columns(adata, r.genes)) for r in requests]
    every = np.unique(np.concatenate([rows for rows, _ in wanted] or [np.empty(0, int)]))
    if every.size == 0:
        return
    sf = adata.obs[SIZE_FACTOR].to_numpy() if needs_normalising(adata) else None
    for start in range(int(every[0]), int(every[-1]) + 1, int(chunk_size)):
        stop = start + int(chunk_size)
        take = every[(every >= start) & (every < stop)]
        if not take.size:
            continue
        block = _read_chunk(adata.X, start, min(stop, int(every[-1]) + 1), take)
        for k, (rows, cols) in enumerate(wanted):
            lo, hi = np.searchsorted(rows, [start, stop])
            if hi > lo:
                part = block[np.searchsorted(take, rows[lo:hi])][:, cols]
                part = normalise_block(part, sf[rows[lo:hi]]) if sf is not None else part
                yield k, np.arange(lo, hi), part


def _read_chunk(x, start: int, stop: int, take: np.ndarray):
    """Rows ``take`` (absolute, within ``[start, stop)``) of a backed matrix, all genes."""
    group = getattr(x, "group", None)
    if group is not None and x.format == "csr" and take.size < SPARSE_SHARE * (stop - start):
        return _csr_rows(group, take, x.shape[1])
    block = x[start:stop]
    block = sp.csr_matrix(block) if sp.issparse(block) else np.asarray(block)
    return block[take - start]


def _csr_rows(group, rows: np.ndarray, n_vars: int) -> sp.csr_matrix:
    """Rows of an on-disk CSR group, each run of consecutive rows read on its own (only the
    compressed blocks that hold them are decompressed)."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    runs = np.split(rows, breaks)
    indptr = group["indptr"]
    data, indices, lengths = [], [], []
    for run in runs:
        bounds = np.asarray(indptr[int(run[0]) : int(run[-1]) + 2], dtype=np.int64)
        data.append(group["data"][bounds[0] : bounds[-1]])
        indices.append(group["indices"][bounds[0] : bounds[-1]])
        lengths.append(np.diff(bounds))
    counts = np.concatenate(lengths)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), ptr), shape=(rows.size, n_vars)
    )


def _assemble(adata: ad.AnnData, rows: np.ndarray, cols, blocks: list) -> ad.AnnData:
    """One request's blocks as an in-memory AnnData with its cells' annotations."""
    n_cols = len(adata.var_names[cols])
    if not blocks:
        matrix = sp.csr_matrix((0, n_cols), dtype=np.float32)
    elif sp.issparse(blocks[0]):
        matrix = _stack_csr(blocks)  # frees each block once copied
    else:
        matrix = np.vstack(blocks)
    del blocks
    out = ad.AnnData(
        X=matrix,
        obs=adata.obs.iloc[rows].copy(),
        var=adata.var.iloc[cols].copy(),
        obsm={k: np.asarray(v)[rows] for k, v in adata.obsm.items()},
        varm={k: np.asarray(v)[cols] for k, v in adata.varm.items()},
        uns=dict(adata.uns),
    )
    if needs_normalising(adata):
        out.uns[EXPRESSION_KEY] = {**out.uns[EXPRESSION_KEY], "x": LOG_NORMALISED}
    return out


def _as_rows(rows: np.ndarray, *, check: bool = True) -> np.ndarray:
    """Row indices from indices or a boolean mask; increasing and unique when ``check``."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        return np.flatnonzero(rows)
    rows = rows.astype(np.int64, copy=False)
    if check and rows.size and np.any(np.diff(rows) <= 0):
        msg = "read_rows: rows must be increasing and unique"
        raise ValueError(msg)
    return rows


def _columns(adata: ad.AnnData, genes: Sequence[str] | None):
    """Positions of ``genes`` in ``adata.var_names`` (file order), or every column."""
    cols = _gene_columns(adata.var_names, genes)
    return slice(None) if cols is None else cols
