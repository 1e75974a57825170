"""A cells × genes matrix read a chunk of cells at a time: the large-input path of ingest.

A dataset above ``ingest.stream_above`` cells is never held whole. Its matrices stay in the
HDF5 file (:class:`H5Rows`: the rows of a CSR group or a dense dataset, read on demand) and
every step of ingest that changes values or columns - count recovery, ``log1p``, the float32
conversion, the order of ``.raw``'s genes, summed duplicate symbols, the genes shared by
several files - is a function of one block of rows that :class:`RowStream` applies to each
chunk as it is read. Every such step works row by row, so a chunked read gives the numbers of
the whole-matrix read, bit for bit. The checks read every cell the same way
(:func:`tmesig.io.check_cells` slices ``x[start:stop]``; :func:`scan` here), and the ingested
file is written block by block (:func:`tmesig.io.write.write_h5ad_streamed`).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

__all__ = ["ROW_CHUNK", "H5Rows", "RowStream", "Scan", "StackedRows", "scan"]

#: Cells read at a time (about 27 bytes per stored value of a chunk at the peak).
ROW_CHUNK = 10_000

Step = Callable[[Any], Any]


class H5Rows:
    """The rows of a matrix stored in an open HDF5 file: a CSR group or a dense dataset.

    Parameters
    ----------
    elem
        An h5py group holding ``data``, ``indices``, ``indptr`` (CSR, cells are rows) or an
        h5py dataset (dense, cells × genes).
    shape
        Cells × genes.
    handle
        The open file (kept open as long as this object lives).
    """

    def __init__(self, elem: Any, shape: tuple[int, int], handle: h5py.File) -> None:
        self.elem = elem
        self.shape = (int(shape[0]), int(shape[1]))
        self.handle = handle
        self.dense = isinstance(elem, h5py.Dataset)
        self.indptr = None if self.dense else np.asarray(elem["indptr"][...], dtype=np.int64)
        self.dtype = elem.dtype if self.dense else elem["data"].dtype

    def _range(self, start: int, stop: int) -> Any:
        if self.dense:
            return sp.csr_matrix(np.asarray(self.elem[start:stop]))
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        data, indices = self.elem["data"][lo:hi], self.elem["indices"][lo:hi]
        indptr = self.indptr[start : stop + 1] - lo
        return sp.csr_matrix((data, indices, indptr), shape=(stop - start, self.shape[1]))

    def __getitem__(self, rows: Any) -> sp.csr_matrix:
        """Rows ``start:stop`` (a slice) or the rows of an increasing index array, as CSR."""
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(self.shape[0])
            return self._range(start, max(start, stop))
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return sp.csr_matrix((0, self.shape[1]), dtype=self.dtype)
        if self.dense:
            return sp.csr_matrix(np.asarray(self.elem[rows]))
        data, indices = self.elem["data"], self.elem["indices"]
        lo, hi = self.indptr[rows], self.indptr[rows + 1]
        parts = [(data[a:b], indices[a:b]) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
        indptr = np.concatenate([[0], np.cumsum(hi - lo)])
        return sp.csr_matrix(
            (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), indptr),
            shape=(rows.size, self.shape[1]),
        )


class RowStream:
    """Rows of a source matrix, each block passed through ``steps`` as it is read.

    Parameters
    ----------
    source
        Anything with ``shape`` and ``source[rows]`` (a slice or an increasing index array).
    n_cols
        Columns after the steps.
    steps
        Functions of one block of rows (CSR in, CSR out), applied in order.
    chunk
        Rows per block of :meth:`blocks` (default :data:`ROW_CHUNK`).
    """

    def __init__(
        self, source: Any, n_cols: int, steps: Sequence[Step] = (), *, chunk: int | None = None
    ) -> None:
        self.source = source
        self.shape = (int(source.shape[0]), int(n_cols))
        self.steps = tuple(steps)
        self.chunk = int(chunk or ROW_CHUNK)

    def __getitem__(self, rows: Any) -> Any:
        block = self.source[rows]
        for step in self.steps:
            block = step(block)
        return block

    def then(self, step: Step, n_cols: int | None = None) -> "RowStream":
        """This stream followed by ``step`` (which leaves ``n_cols`` columns)."""
        cols = self.shape[1] if n_cols is None else n_cols
        return RowStream(self.source, cols, (*self.steps, step), chunk=self.chunk)

    def blocks(self) -> Iterator[Any]:
        """Consecutive blocks of at most ``chunk`` rows, in order."""
        for start in range(0, self.shape[0], self.chunk):
            yield self[start : min(start + self.chunk, self.shape[0])]

    def collect(self) -> sp.csr_matrix:
        """The whole matrix in memory (for :func:`tmesig.io.ingest` called from a notebook)."""
        return _stack(self.blocks(), self.shape[1])


class StackedRows:
    """Several streams with the same columns, one after the other (a multi-file dataset).

    Parameters
    ----------
    streams
        The streams, in row order.
    """

    def __init__(self, streams: Sequence[RowStream]) -> None:
        self.streams = list(streams)
        self.shape = (sum(s.shape[0] for s in self.streams), self.streams[0].shape[1])

    def then(self, step: Step, n_cols: int | None = None) -> "StackedRows":
        """Every stream followed by ``step``."""
        return StackedRows([s.then(step, n_cols) for s in self.streams])

    def blocks(self) -> Iterator[Any]:
        """The blocks of every stream, in order."""
        for s in self.streams:
            yield from s.blocks()

    def collect(self) -> sp.csr_matrix:
        """The whole matrix in memory."""
        return _stack(self.blocks(), self.shape[1])


def _stack(blocks: Iterator[Any], n_cols: int) -> sp.csr_matrix:
    parts = [sp.csr_matrix(b) for b in blocks]
    if not parts:
        return sp.csr_matrix((0, n_cols), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(parts, format="csr"))


def is_stream(x: Any) -> bool:
    """Whether ``x`` is read in chunks (:class:`RowStream` or :class:`StackedRows`)."""
    return isinstance(x, (RowStream, StackedRows))


@dataclass(frozen=True)
class Scan:
    """What one pass over every stored value of a matrix found.

    Attributes
    ----------
    n_values
        Stored values.
    n_integer
        Stored values within 1e-6 of an integer.
    minimum
        The smallest stored value (``inf`` without any).
    positive
        Per column: whether any value is above zero.
    """

    n_values: int
    n_integer: int
    minimum: float
    positive: np.ndarray


def _scan_block(m: sp.csr_matrix, n_cols: int) -> Scan:
    d = m.data
    n_int = int(np.count_nonzero(np.abs(d - np.round(d)) < 1e-6)) if d.size else 0
    pos = np.zeros(n_cols, dtype=bool)
    pos[m.indices[d > 0]] = True
    return Scan(int(d.size), n_int, float(d.min()) if d.size else float("inf"), pos)


def scan(x: Any) -> Scan:
    """Count integer values, find the minimum and the columns with a positive value.

    Parameters
    ----------
    x
        A CSR matrix in memory or a stream (read one block at a time).

    Returns
    -------
    Scan
    """
    n_cols = x.shape[1]
    total = Scan(0, 0, float("inf"), np.zeros(n_cols, dtype=bool))
    blocks = x.blocks() if is_stream(x) else [sp.csr_matrix(x)]
    for block in blocks:
        s = _scan_block(block, n_cols)
        total = Scan(
            total.n_values + s.n_values,
            total.n_integer + s.n_integer,
            min(total.minimum, s.minimum),
            total.positive | s.positive,
        )
    return total
