"""Negative-binomial counts drawn chunk by chunk from counter-based random streams."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["Simulation", "log_normalise"]


class _Rows(NamedTuple):
    """The rows to draw: stream keys, states, depth levels and each row's output slot.

    Row ``i`` is cell ``start + i``; it writes its entries from ``offsets[i]`` (the slot
    holds at most ``offsets[i + 1] - offsets[i]`` of them).
    """

    start: np.int64
    seed: np.uint64
    state: np.ndarray
    level: np.ndarray
    offsets: np.ndarray


class _Model(NamedTuple):
    """The count model: state profiles, depth levels, zero probabilities and ``1 / phi``."""

    profiles: np.ndarray
    depths: np.ndarray
    p0: np.ndarray
    r: float


@dataclass
class Simulation:
    """Everything needed to generate the counts of a simulated dataset, chunk by chunk.

    Attributes
    ----------
    obs : DataFrame
        Cells with their truth columns.
    var : DataFrame
        Genes (index: symbols; ``source``: library, marker or filler).
    uns : dict
        ``uns["simulation"]``: parameters, programs, cell types.
    profiles : ndarray, states × genes
        Expression profile of each state (cell type × active programs).
    state : ndarray of int64
        State of each cell.
    level : ndarray of int64
        Depth level of each cell.
    depths : ndarray of float64
        Library size of each depth level.
    dispersion : float
        NB dispersion ``phi``.
    seed : int
        Seed of the count streams.
    """

    obs: pd.DataFrame
    var: pd.DataFrame
    uns: dict
    profiles: np.ndarray
    state: np.ndarray
    level: np.ndarray
    depths: np.ndarray
    dispersion: float
    seed: int
    _p0: np.ndarray = field(default=None, repr=False)
    _cap: np.ndarray = field(default=None, repr=False)

    @property
    def n_obs(self) -> int:
        """Number of cells."""
        return len(self.obs)

    @property
    def n_vars(self) -> int:
        """Number of genes."""
        return len(self.var)

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._p0 is None:
            r = 1.0 / self.dispersion
            mu = self.depths[None, :, None] * self.profiles[:, None, :]
            p0 = np.exp(-r * np.log1p(mu * self.dispersion))
            expected = (1.0 - p0).sum(axis=2)
            self._p0 = p0.astype(np.float64)
            self._cap = np.ceil(expected + 10.0 * np.sqrt(expected) + 64.0).astype(np.int64)
        return self._p0, self._cap

    def counts(self, start: int, stop: int) -> sp.csr_matrix:
        """Counts of cells ``start:stop`` (CSR, float32)."""
        p0, cap = self._tables()
        state = self.state[start:stop]
        level = self.level[start:stop]
        caps = cap[state, level]
        offsets = np.zeros(len(caps) + 1, dtype=np.int64)
        np.cumsum(caps, out=offsets[1:])
        rows = _Rows(np.int64(start), np.uint64(self.seed), state, level, offsets)
        model = _Model(self.profiles, self.depths, p0, 1.0 / self.dispersion)
        indices = np.empty(offsets[-1], dtype=np.int32)
        data = np.empty(offsets[-1], dtype=np.float32)
        lengths = np.zeros(len(caps), dtype=np.int64)
        _nb_rows(rows, model, indices, data, lengths)
        if (lengths > caps).any():  # pragma: no cover - 10-sd bound
            msg = "internal buffer overflow while simulating; lower the depth or report a bug."
            raise RuntimeError(msg)
        indptr = np.zeros(len(caps) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        mask = np.zeros(offsets[-1], dtype=bool)
        _mark(offsets, lengths, mask)
        return sp.csr_matrix((data[mask], indices[mask], indptr), shape=(stop - start, self.n_vars))

    def chunks(self, *, chunk_size: int = 20_000, lognorm: bool = False) -> Iterator[sp.csr_matrix]:
        """Yield the matrix chunk by chunk (counts, or ``log1p`` of counts per 10,000)."""
        for start in range(0, self.n_obs, chunk_size):
            block = self.counts(start, min(start + chunk_size, self.n_obs))
            yield log_normalise(block) if lognorm else block


@numba.njit(cache=True)
def _mark(offsets, lengths, mask):  # pragma: no cover - numba
    for i in range(lengths.shape[0]):
        for j in range(offsets[i], offsets[i] + lengths[i]):
            mask[j] = True


@numba.njit(inline="always")
def _next(s):  # pragma: no cover - numba
    s = s + np.uint64(0x9E3779B97F4A7C15)
    z = s
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return s, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(parallel=True, cache=True)
def _nb_rows(rows, model, indices, data, lengths):  # pragma: no cover - numba
    """NB counts of ``rows`` by inversion into ``indices``/``data``; ``lengths``: entries per row.

    The output arrays are separate arguments: numba's parallel loops lose writes to arrays
    held in a tuple argument.
    """
    start, seed, state, level, offsets = rows
    profiles, depths, p0, r = model
    n_rows = state.shape[0]
    n_genes = profiles.shape[1]
    for i in numba.prange(n_rows):
        s = (seed * np.uint64(0xD1B54A32D192ED03)) ^ (
            np.uint64(start + i) * np.uint64(0x9E3779B97F4A7C15)
        )
        st = state[i]
        lv = level[i]
        depth = depths[lv]
        pos = offsets[i]
        for g in range(n_genes):
            s, u = _next(s)
            q0 = p0[st, lv, g]
            if u < q0:
                continue
            mu = depth * profiles[st, g]
            q = mu / (r + mu)
            pk = q0
            cdf = q0
            k = 0
            while u >= cdf and pk > 1e-300 and k < 1_000_000:
                pk = pk * (k + r) / (k + 1) * q
                k += 1
                cdf += pk
            if k > 0:
                if pos < offsets[i + 1]:
                    indices[pos] = g
                    data[pos] = k
                pos += 1
        lengths[i] = pos - offsets[i]


def log_normalise(block: sp.csr_matrix) -> sp.csr_matrix:
    """``log1p`` of counts scaled to 10,000 per cell (as ``normalize_total`` + ``log1p``)."""
    out = block.astype(np.float32, copy=True)
    totals = np.asarray(out.sum(axis=1)).ravel()
    scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
    out.data *= np.repeat(scale, np.diff(out.indptr)).astype(np.float32)
    np.log1p(out.data, out=out.data)
    return out
