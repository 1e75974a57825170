"""The one expression matrix of a run: stored values on disk, log-normalised when read.

``clustered.h5ad`` stores ``X`` as ingested (counts for ``counts`` and ``panel`` input, the
given values for ``normalised`` input) for the QC-kept cells, once: no log-normalised copy,
no ``counts`` layer. What turns it into log-normalised values is recorded beside it:

``obs["size_factor"]``
    Each cell's divisor, scanpy's ``normalize_total`` factor (total counts / target sum,
    float32; a cell without counts keeps its values, as in scanpy).
``uns["tmesig_expression"]``
    ``mode`` (the input mode), ``transform`` (``log1p_size_factor`` or ``none``),
    ``target_sum`` (counts per cell after scaling: 10,000, or a panel's median total),
    ``normalisation`` (the sentence the clustering records) and ``x``: ``stored`` in the file,
    ``log-normalised`` once :func:`read_expression` or :func:`normalise_in_place` has applied it.

:func:`normalise_in_place` is tmesig's one normalisation (scanpy's ``normalize_total`` then
``log1p``); :func:`normalise_block` redoes it on a block of cells from the size factors, with
the same float32 arithmetic (the same numbers, bit for bit), so a backed file is normalised
chunk by chunk (:func:`tmesig.score._chunks.iter_chunks`).
"""

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from ..input_mode import NORMALISED, PANEL

__all__ = [
    "EXPRESSION_KEY",
    "SIZE_FACTOR",
    "expression_record",
    "iter_rows",
    "needs_normalising",
    "normalise_block",
    "normalise_in_place",
    "read_expression",
]

#: ``uns`` key of the normalisation record.
EXPRESSION_KEY = "tmesig_expression"
#: ``obs`` column of the per-cell size factors.
SIZE_FACTOR = "size_factor"
#: ``transform`` values of the record.
LOG1P_SIZE_FACTOR = "log1p_size_factor"
NO_TRANSFORM = "none"
#: ``x`` values of the record: what ``X`` holds now.
STORED = "stored"
LOG_NORMALISED = "log-normalised"
#: Cells read at a time by :func:`iter_rows`.
ROW_CHUNK = 20_000


def normalise_in_place(adata: ad.AnnData, *, mode: str, target_sum: float = 1e4) -> str:
    """Log-normalise ``X`` (the stored values) in place and record how, per cell.

    ``counts``: ``log1p`` of counts scaled to ``target_sum`` per cell; ``panel``: scaled to the
    median total of the cells instead; ``normalised``: ``X`` as given (float32). The size
    factors go to ``obs["size_factor"]`` (1 for normalised input), the record to
    ``uns["tmesig_expression"]``.

    Parameters
    ----------
    adata
        Cells × genes, ``X`` holding the stored values (counts, or normalised values).
    mode
        The input mode (:mod:`tmesig.input_mode`).
    target_sum
        Counts per cell after scaling (``counts`` mode).

    Returns
    -------
    str
        What was done, in words (recorded by the clustering).
    """
    if mode == NORMALISED:
        adata.X = adata.X.astype(np.float32)
        adata.obs[SIZE_FACTOR] = np.ones(adata.n_obs, dtype=np.float32)
        text = "none: input normalised, X used as given"
        adata.uns[EXPRESSION_KEY] = _record(mode, NO_TRANSFORM, float("nan"), text)
        return text
    if sp.issparse(adata.X) and not isinstance(adata.X, sp.csr_matrix):
        adata.X = sp.csr_matrix(adata.X)
    if mode == PANEL:
        # scanpy's target for a panel: the median of the cells' totals (zeros included)
        used = float(np.median(np.asarray(adata.X.sum(axis=1), dtype=np.float64)))
        text = "log1p of counts scaled to the median total per cell (panel)"
    else:
        used = float(target_sum)
        text = f"log1p of counts scaled to {target_sum:g} per cell"
    sc.pp.normalize_total(adata, target_sum=None if mode == PANEL else used, key_added=SIZE_FACTOR)
    sc.pp.log1p(adata)
    adata.uns[EXPRESSION_KEY] = _record(mode, LOG1P_SIZE_FACTOR, used, text)
    return text


def _record(mode: str, transform: str, target_sum: float, text: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "transform": transform,
        "target_sum": float(target_sum),
        "normalisation": text,
        "x": LOG_NORMALISED,
    }


def expression_record(adata: ad.AnnData) -> dict[str, Any] | None:
    """The normalisation record of ``adata`` (``uns["tmesig_expression"]``), or None.

    Parameters
    ----------
    adata
        Data written by the cluster stage, or read by :func:`read_expression`.

    Returns
    -------
    dict or None
        The record (``mode``, ``transform``, ``target_sum``, ``normalisation``, ``x``).
    """
    rec = adata.uns.get(EXPRESSION_KEY)
    return dict(rec) if rec is not None else None


def needs_normalising(adata: ad.AnnData) -> bool:
    """Whether ``adata.X`` holds stored counts that must be log-normalised when read.

    Parameters
    ----------
    adata
        Any AnnData (without a record: False, ``X`` is used as it is).

    Returns
    -------
    bool
    """
    return _stores_counts(expression_record(adata))


def _stores_counts(rec: dict[str, Any] | None) -> bool:
    """Whether a normalisation record says ``X`` holds stored counts to log-normalise."""
    return bool(rec) and rec["x"] == STORED and rec["transform"] == LOG1P_SIZE_FACTOR


def normalise_block(block: Any, size_factors: np.ndarray) -> Any:
    """``log1p(block / size_factor)`` row by row, as scanpy computes it (float32).

    Parameters
    ----------
    block
        Cells × genes of stored counts (CSR or dense); not modified.
    size_factors
        The cells' ``obs["size_factor"]`` (0: the cell is left as it is, as in scanpy).

    Returns
    -------
    scipy.sparse.csr_matrix or numpy.ndarray
        The log-normalised block, float32 (CSR for sparse input).
    """
    sf = np.asarray(size_factors, dtype=np.float32)
    sf = sf + (sf == 0)
    if sp.issparse(block):
        csr = sp.csr_matrix(block, dtype=np.float32)
        data = csr.data / np.repeat(sf, np.diff(csr.indptr))
        return sp.csr_matrix((np.log1p(data), csr.indices.copy(), csr.indptr.copy()), csr.shape)
    dense = np.asarray(block, dtype=np.float32)
    return np.log1p(dense / sf[:, None])


def iter_rows(x: Any, n_obs: int, *, chunk_size: int = ROW_CHUNK) -> Iterator[tuple[int, int, Any]]:
    """``(start, stop, block)`` over consecutive rows of a (backed) matrix.

    Parameters
    ----------
    x
        In-memory matrix, backed sparse dataset or h5py dataset.
    n_obs
        Its number of rows.
    chunk_size
        Rows read at a time.

    Yields
    ------
    tuple
        ``start``, ``stop`` and the block (CSR for sparse data, else a numpy array).
    """
    for start in range(0, n_obs, int(chunk_size)):
        stop = min(start + int(chunk_size), n_obs)
        block = x[start:stop]
        yield start, stop, sp.csr_matrix(block) if sp.issparse(block) else np.asarray(block)


def _elems(f: h5py.File) -> dict[str, Any]:
    """Every element of an h5ad file except ``X``, ``layers`` and ``raw``."""
    out = {}
    for key in ("obs", "var", "obsm", "obsp", "varm", "uns"):
        if key in f:
            out[key] = ad.io.read_elem(f[key])
    return out


def _read_x(
    f: h5py.File, n_obs: int, columns: np.ndarray | None, size_factors: np.ndarray | None
) -> Any:
    """``X`` read a chunk of cells at a time, keeping only ``columns`` (all when None), each
    chunk log-normalised with its cells' ``size_factors`` when given."""
    node = f["X"]
    x = ad.io.sparse_dataset(node) if isinstance(node, h5py.Group) else node
    blocks = []
    for start, stop, block in iter_rows(x, n_obs, chunk_size=ROW_CHUNK):
        if columns is not None:
            block = block[:, columns]
        if size_factors is not None:
            block = normalise_block(block, size_factors[start:stop])
        blocks.append(block)
    if not blocks:
        return None
    if sp.issparse(blocks[0]):
        return _stack_csr(blocks)
    return np.vstack(blocks)


def _stack_csr(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
    """The CSR blocks stacked row-wise (as ``scipy.sparse.vstack``), each block freed once
    copied, so the peak is the result plus one block rather than twice the result."""
    n_rows = sum(b.shape[0] for b in blocks)
    n_cols = blocks[0].shape[1]
    nnz = sum(b.nnz for b in blocks)
    idx = np.int32 if max(nnz, n_cols) < np.iinfo(np.int32).max else np.int64
    data = np.empty(nnz, dtype=blocks[0].dtype)
    indices = np.empty(nnz, dtype=idx)
    indptr = np.zeros(n_rows + 1, dtype=idx)
    row = at = 0
    blocks.reverse()  # pop from the end: first block first
    while blocks:
        b = blocks.pop()
        data[at : at + b.nnz] = b.data
        indices[at : at + b.nnz] = b.indices
        indptr[row + 1 : row + b.shape[0] + 1] = b.indptr[1:] + at
        row, at = row + b.shape[0], at + b.nnz
        del b
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def _gene_columns(var_names: pd.Index, genes: Sequence[str] | None) -> np.ndarray | None:
    """Positions (in file order) of the requested genes present in the file."""
    if genes is None:
        return None
    return np.flatnonzero(var_names.isin(pd.Index(list(map(str, genes)))))


def read_expression(
    path: str | Path,
    *,
    backed: bool = False,
    genes: Sequence[str] | None = None,
    counts: bool = False,
) -> ad.AnnData:
    """Open ``clustered.h5ad`` as the AnnData the downstream stages work on.

    Parameters
    ----------
    path
        A ``clustered.h5ad`` (stored values, ``obs["size_factor"]``,
        ``uns["tmesig_expression"]``); a file without the record is read as it is.
    backed
        Open backed (read-only): ``X`` stays on disk and
        :func:`tmesig.score._chunks.iter_chunks` log-normalises each chunk it reads.
    genes
        In memory only: keep these genes (those measured, in the file's order); None: all.
    counts
        In memory only: also put the stored counts in ``layers["counts"]`` (not for
        normalised input, which has none).

    Returns
    -------
    AnnData
        In memory: ``X`` log-normalised (float32), the record's ``x`` set to
        ``log-normalised``. Backed: the file as stored.

    Raises
    ------
    ValueError
        ``genes`` or ``counts`` with ``backed``.
    """
    if backed:
        if genes is not None or counts:
            msg = "read_expression: genes= and counts= need the data in memory (backed=False)"
            raise ValueError(msg)
        return ad.read_h5ad(path, backed="r")
    with h5py.File(path, "r") as f:
        parts = _elems(f)
        var_names = pd.Index(parts["var"].index.astype(str))
        columns = _gene_columns(var_names, genes)
        rec = (parts.get("uns") or {}).get(EXPRESSION_KEY)
        stored_counts = rec is None or rec["mode"] != NORMALISED
        chunked = not (counts and stored_counts) and _stores_counts(rec)
        factors = parts["obs"][SIZE_FACTOR].to_numpy() if chunked else None
        x = _read_x(f, len(parts["obs"]), columns, factors)
    if columns is not None:
        parts["var"] = parts["var"].iloc[columns]
        if "varm" in parts:
            parts["varm"] = {k: np.asarray(v)[columns] for k, v in parts["varm"].items()}
    adata = ad.AnnData(X=x, **parts)
    if counts and stored_counts:
        adata.layers["counts"] = x.copy()
    if not chunked and needs_normalising(adata):
        adata.X = normalise_block(adata.X, adata.obs[SIZE_FACTOR].to_numpy())
    if rec is not None:
        adata.uns[EXPRESSION_KEY] = {**rec, "x": LOG_NORMALISED}
    return adata
