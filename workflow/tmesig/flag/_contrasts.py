"""Within-sample contrasts: of group means (any columns), and of further null sets scored
directly against the per-sample gene contrasts.

A compartment's contrast in a sample is its mean minus the mean of the sample's other
assigned cells (:func:`within_sample_contrasts`). The mean-difference score is linear in
expression, so the contrast of a null set equals the set's weights applied to the gene
contrast ``D[s, gene]`` (the same contrast of every gene's mean expression). For the
sequential draws, :class:`GeneContrasts` keeps ``D`` of the compartments that still draw
and :func:`null_set_contrasts` scores a batch of null sets against it in one numba pass
(parallel over null sets): the work is ``null sets × genes per set × samples of the
compartment``, not ``× every group of the dataset``, and nothing depends on the number
of cells.
"""

from collections.abc import Iterator

import numba
import numpy as np
import pandas as pd

from ..constants import UNASSIGNED


def _pairs(
    index: pd.MultiIndex, n: np.ndarray, *, min_cells: int
) -> Iterator[tuple[str, list[tuple[str, np.ndarray, np.ndarray]]]]:
    """Per compartment (sorted, not ``unassigned``): its contributing samples (sorted), each
    with the rows of its group(s) and of the sample's other assigned groups."""
    comp = pd.Index(index.get_level_values(0).astype(str))
    smp = pd.Index(index.get_level_values(1).astype(str))
    comp_codes, comp_labels = pd.factorize(comp, sort=True)
    smp_codes, smp_labels = pd.factorize(smp, sort=True)
    assigned = comp_codes != (comp_labels.get_loc(UNASSIGNED) if UNASSIGNED in comp_labels else -1)
    rows_of = [np.flatnonzero(smp_codes == j) for j in range(len(smp_labels))]
    for ci, c in enumerate(comp_labels):
        if c == UNASSIGNED:
            continue
        kept = []
        for s, rows in zip(smp_labels, rows_of, strict=True):
            inside = rows[comp_codes[rows] == ci]
            outside = rows[(comp_codes[rows] != ci) & assigned[rows]]
            n_in, n_out = n[inside].sum(), n[outside].sum()
            if len(inside) == 0 or n_in < min_cells or n_out < min_cells:
                continue
            kept.append((s, inside, outside))
        yield c, kept


def within_sample_contrasts(
    means: pd.DataFrame, n_cells: pd.Series, *, min_cells: int
) -> dict[str, pd.DataFrame]:
    """Per compartment: samples × columns of (compartment mean − mean of the other cells).

    Parameters
    ----------
    means
        Group means with a (compartment, sample) MultiIndex and any columns (sets, null
        sets, genes).
    n_cells
        Cells of each group. The other compartments of a sample are weighted by their
        cells, so the contrast equals the cell-level difference of means.
    min_cells
        Only samples with at least this many cells inside and outside are kept.

    Returns
    -------
    dict
        ``{compartment: samples × columns}``, compartments and samples sorted.
    """
    n = n_cells.reindex(means.index).to_numpy(dtype=float)
    values = means.to_numpy(dtype=float)
    out: dict[str, pd.DataFrame] = {}
    for c, kept in _pairs(means.index, n, min_cells=min_cells):
        rows = []
        for _, inside, outside in kept:
            m_in = (values[inside] * n[inside, None]).sum(axis=0) / n[inside].sum()
            m_out = (values[outside] * n[outside, None]).sum(axis=0) / n[outside].sum()
            rows.append(m_in - m_out)
        out[c] = pd.DataFrame(
            np.vstack(rows) if rows else np.empty((0, means.shape[1])),
            index=[s for s, _, _ in kept],
            columns=means.columns,
        )
    return out


@numba.njit(parallel=True, cache=True)
def _score_contrasts(null, ctrl, keep, d_t, out):  # pragma: no cover - numba
    n_sets, k = null.shape
    n_rows = d_t.shape[1]
    for i in numba.prange(n_sets):
        n_keep = 0
        for j in range(ctrl.shape[1]):
            n_keep += keep[i, j]
        w_ctrl = -1.0 / max(n_keep, 1)
        w_null = 1.0 / k
        # one null set's sums in a contiguous buffer (``out`` is written once per set):
        # the same additions in the same order as accumulating in ``out[:, i]``
        acc = np.zeros(n_rows)
        for j in range(k):
            g = null[i, j]
            for r in range(n_rows):
                acc[r] += w_null * d_t[g, r]
        for j in range(ctrl.shape[1]):
            if keep[i, j]:
                g = ctrl[i, j]
                for r in range(n_rows):
                    acc[r] += w_ctrl * d_t[g, r]
        for r in range(n_rows):
            out[r, i] = acc[r]


def null_set_contrasts(
    null: np.ndarray, ctrl: np.ndarray, keep: np.ndarray, d_t: np.ndarray
) -> np.ndarray:
    """Within-sample contrasts of null sets from the gene contrasts.

    Parameters
    ----------
    null, ctrl, keep
        A batch of null sets (:meth:`tmesig.score.NullSampler.draw`): gene positions of
        each null set, of its control draws, and which control draws count.
    d_t
        Genes × samples gene contrasts (C-contiguous float64).

    Returns
    -------
    ndarray
        Samples × null sets: mean of the null genes' contrasts minus mean of the control
        genes' contrasts (the null set's mean-difference score contrast).
    """
    out = np.empty((d_t.shape[1], null.shape[0]), dtype=np.float64)
    if null.shape[0] and d_t.shape[1]:
        _score_contrasts(
            np.ascontiguousarray(null, dtype=np.int64),
            np.ascontiguousarray(ctrl, dtype=np.int64),
            np.ascontiguousarray(keep, dtype=np.bool_),
            d_t,
            out,
        )
    return out


class GeneContrasts:
    """Per-sample gene contrasts of the compartments of one level, built on first use.

    Parameters
    ----------
    profile
        Groups × genes mean expression, (compartment, sample) MultiIndex.
    n_cells
        Cells of each group.
    min_cells
        Minimum cells inside and outside the compartment in a sample.
    """

    def __init__(self, profile: pd.DataFrame, n_cells: pd.Series, *, min_cells: int) -> None:
        self._values = profile.to_numpy(dtype=np.float64)
        self._n = n_cells.reindex(profile.index).to_numpy(dtype=float)
        self._kept = {c: kept for c, kept in _pairs(profile.index, self._n, min_cells=min_cells)}
        self._cache: dict[str, np.ndarray] = {}

    def genes_by_samples(self, comp: str) -> np.ndarray:
        """Genes × contributing samples contrast of ``comp`` (samples sorted, as in
        :func:`within_sample_contrasts`).

        Parameters
        ----------
        comp
            The compartment.
        """
        if comp not in self._cache:
            v, n = self._values, self._n
            cols = [
                (v[i] * n[i, None]).sum(axis=0) / n[i].sum()
                - (v[o] * n[o, None]).sum(axis=0) / n[o].sum()
                for _, i, o in self._kept.get(comp, [])
            ]
            d = np.column_stack(cols) if cols else np.empty((v.shape[1], 0))
            self._cache[comp] = np.ascontiguousarray(d)
        return self._cache[comp]
