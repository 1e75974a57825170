"""More expression-matched null sets on demand, scored from the per-group expression profile.

The mean-difference score is linear in expression, so the mean score of a group of cells
for any gene set equals the score of the group's mean expression profile (groups × genes,
:attr:`NullGroupMeans.profile`). Null sets beyond the first ``n_null`` can therefore be
drawn and scored without reading the matrix again: this is what lets
:func:`tmesig.flag.null_calibration` draw further null sets only for the tests that need
them (sequential Monte Carlo p-values).
"""

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _subsets(rng: np.random.Generator, n: int, k: int, size: int) -> np.ndarray:
    """``size`` uniform random ``k``-subsets of ``range(n)`` (rows of a ``size × k`` array).

    Floyd's algorithm, vectorised over rows: for ``j`` in ``n - k .. n - 1`` draw ``t``
    uniform in ``0 .. j`` and take ``t`` unless the row already holds it, else ``j``
    (Bentley & Floyd 1987, "A sample of brilliance", CACM 30:754).
    """
    if k >= n:
        return np.tile(np.arange(n), (size, 1))
    out = np.empty((size, k), dtype=np.int64)
    for col, j in enumerate(range(n - k, n)):
        t = rng.integers(0, j + 1, size=size)
        taken = (out[:, :col] == t[:, None]).any(axis=1)
        out[:, col] = np.where(taken, j, t)
    return out


@dataclass(frozen=True)
class NullSampler:
    """Draws further null sets of a set and scores them from the group profile.

    Each batch draws, like :func:`tmesig.score.null_group_means`, for every expression bin
    of the set as many genes as the set has there (from the bin's other genes; from the
    whole bin when too few are left), and scanpy-style control genes: ``ctrl_size`` genes of
    each of those bins (all of a smaller bin), less the null genes. Batch ``b`` (``b >= 1``)
    has its own random stream seeded from ``(seed, set name, b)``: the draws do not depend
    on the other sets, on which tests are still drawing, or on the batch order.

    Attributes
    ----------
    profile : ndarray
        Groups × genes mean expression (float64).
    labels : Index
        The groups (rows of ``profile``).
    cuts : ndarray
        Expression bin of every gene (:func:`tmesig.score.scanpy_bins`; NaN = unbinned).
    positions : mapping
        ``{set name: positions of its binned genes}``.
    ctrl_size : int
        Control genes per bin, as scanpy's ``ctrl_size``.
    seed : int
        Seed of the draws.
    """

    profile: np.ndarray
    labels: pd.Index
    cuts: np.ndarray
    positions: Mapping[str, np.ndarray]
    ctrl_size: int
    seed: int
    _pools: dict = field(init=False, repr=False, compare=False)
    _profile_t: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cuts = self.cuts
        pools = {cut: np.flatnonzero(cuts == cut) for cut in np.unique(cuts[np.isfinite(cuts)])}
        object.__setattr__(self, "_pools", pools)
        object.__setattr__(self, "_profile_t", np.ascontiguousarray(self.profile.T))

    def draw(self, name: str, batch: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Batch ``batch`` of ``size`` null sets of set ``name``: null and control genes.

        Parameters
        ----------
        name
            The set.
        batch
            Batch number (>= 1; the first ``n_null`` sets are batch 0, drawn by
            :func:`tmesig.score.null_group_means`).
        size
            Null sets in the batch.

        Returns
        -------
        null, control, keep
            Gene positions, one row per null set: ``null`` (size × genes of the set),
            ``control`` (size × control draws) and ``keep`` (bool, like ``control``: False
            where the control draw is one of the row's null genes, which scanpy drops).
        """
        rng = np.random.default_rng([int(self.seed), zlib.crc32(name.encode()), int(batch)])
        pos = self.positions[name]
        bins = self.cuts[pos]
        null, ctrl = [], []
        for cut in np.unique(bins):
            pool = self._pools[cut]
            cands = np.setdiff1d(pool, pos)
            k = int((bins == cut).sum())
            cands = cands if len(cands) >= k else pool
            null.append(cands[_subsets(rng, len(cands), k, int(size))])
        for cut in np.unique(bins):
            pool = self._pools[cut]
            ctrl.append(pool[_subsets(rng, len(pool), self.ctrl_size, int(size))])
        null_genes, ctrl_genes = np.hstack(null), np.hstack(ctrl)
        keep = np.ones(ctrl_genes.shape, dtype=bool)
        for c in range(null_genes.shape[1]):
            keep &= ctrl_genes != null_genes[:, [c]]
        return null_genes, ctrl_genes, keep

    def means(self, name: str, batch: int, size: int) -> pd.DataFrame:
        """Mean-difference score of each group for batch ``batch`` of set ``name``'s nulls.

        Parameters
        ----------
        name
            The set.
        batch
            Batch number (>= 1), as in :meth:`draw`.
        size
            Null sets in the batch.

        Returns
        -------
        DataFrame
            Groups × ``size`` null sets: mean of the null genes minus mean of the control
            genes in each group's mean profile (equal to averaging the per-cell scores).
        """
        null, ctrl, keep = self.draw(name, batch, size)
        n_keep = np.maximum(keep.sum(axis=1, keepdims=True), 1)
        values = np.hstack(
            [np.full(null.shape, 1.0 / null.shape[1]), -keep.astype(np.float64) / n_keep]
        )
        genes = np.hstack([null, ctrl])
        indptr = np.arange(genes.shape[0] + 1, dtype=np.int64) * genes.shape[1]
        weights = sp.csr_matrix(
            (values.ravel(), genes.ravel(), indptr), shape=(genes.shape[0], len(self.cuts))
        )
        return pd.DataFrame((weights @ self._profile_t).T, index=self.labels)
