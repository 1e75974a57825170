"""What a matrix holds: counts, corrected counts, normalised (CPM), log-normalised, TPM...

:func:`detect_matrix_state` classifies one matrix from a probe of evenly spaced cells;
:func:`tmesig.io.find_counts` (module :mod:`tmesig.io.counts`) uses it to find a dataset's
counts, and :func:`tmesig.io.check_cells` re-checks the chosen matrix cell by cell.

Library sizes matter: real counts never give every cell the same total, so integer values
with (almost) constant totals are rounded normalised values, and non-integer values whose
cells share a total, or whose values are whole multiples of one value per cell (the value
of one count), are normalised counts (CPM, CP10k), not corrected counts.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .cell_checks import cell_profile, count_units, scale_mixture

__all__ = ["STATE_WORDS", "MatrixState", "detect_matrix_state"]

#: Number of cells inspected when deciding what a matrix holds.
_PROBE_CELLS = 2000
#: Coefficient of variation of per-cell totals below which cells share one total.
_CV_CONSTANT = 1e-2


@dataclass
class MatrixState:
    """What a matrix holds and the evidence for that decision.

    Attributes
    ----------
    state
        One of ``counts`` (non-negative integers; down-sampled counts included),
        ``corrected_counts`` (non-negative, non-integer, count-like: values too large to be
        logarithms, totals varying between cells), ``half_integer_counts`` (counts in steps
        of 0.5), ``normalized`` (unlogged CPM/CP10k/TPM: the same total in every cell, or
        every value a whole multiple of its cell's one-count value, or rounded to integers
        with near-constant totals and no ones - ``evidence["rounded"]``),
        ``log1p_normalized`` (``log1p`` of counts scaled to a constant total per cell),
        ``log2_tpm`` (``log2(TPM + 1)``), ``log_unknown`` (small non-negative non-integers of
        unknown scale), ``mixed`` (integer cells beside log-normalised cells, see
        :func:`tmesig.io.cell_checks.scale_mixture`), ``scaled`` (negative values present),
        ``non_finite`` (NaN or infinite values), ``all_zero`` or ``empty``.
    evidence
        Numbers behind the decision (fraction of integer values, minimum, maximum,
        coefficient of variation of back-transformed totals...).
    """

    state: str
    evidence: dict[str, Any] = field(default_factory=dict)


#: What each state means, for messages.
STATE_WORDS = {
    "counts": "raw integer counts",
    "corrected_counts": "count-like non-integer values (e.g. ambient-corrected counts)",
    "half_integer_counts": "counts in steps of 0.5 (e.g. multi-mapping reads split in two)",
    "normalized": "normalised values (every cell scaled to one total: CPM/CP10k/TPM), not counts",
    "log1p_normalized": "log1p-normalised values",
    "log2_tpm": "log2(TPM+1) values",
    "log_unknown": "log-scale values of unknown normalisation",
    "mixed": "cells on different scales (some raw counts, some log-normalised)",
    "scaled": "negative values (scaled/centred data, or corrupt negative counts)",
    "non_finite": "NaN or infinite values",
    "all_zero": "only zeros",
    "empty": "no cells or no genes",
}


def _probe_rows(x: Any, *, n: int = _PROBE_CELLS) -> sp.csr_matrix:
    """Return at most ``n`` evenly spaced rows of ``x`` as CSR float64 (deterministic)."""
    n_obs = x.shape[0]
    idx = np.unique(np.linspace(0, n_obs - 1, num=min(n, n_obs)).astype(int)) if n_obs else []
    sub = x[idx]
    m = (
        sp.csr_matrix(sub, dtype=np.float64)
        if not sp.issparse(sub)
        else sp.csr_matrix(sub.tocsr(), dtype=np.float64)
    )
    m.eliminate_zeros()
    return m


def _cv(v: np.ndarray) -> float:
    """Coefficient of variation (0 for fewer than two values or a zero mean)."""
    return float(np.std(v) / np.mean(v)) if v.size > 1 and np.mean(v) > 0 else 0.0


def _multiples_of_cell_min(m: sp.csr_matrix) -> float:
    """Fraction of the values of non-integer cells that are whole multiples of the cell's
    one-count value (its minimum, or a half, third or quarter of it: :func:`count_units`).

    Normalised counts (CPM, CP10k) are ``count × s_i`` for a per-cell factor ``s_i``: every
    value is a whole multiple of the cell's one-count value. Corrected counts are not. Cells
    holding integers only are left out (they are trivially multiples of their 1s).
    """
    nnz = np.diff(m.indptr)
    row = np.repeat(np.arange(m.shape[0]), nnz)
    frac = np.abs(m.data - np.round(m.data)) > 1e-6
    nonint = np.bincount(row, weights=frac, minlength=m.shape[0])
    keep = np.repeat((nonint > 0) & (nnz > 0), nnz)
    if not keep.any():
        return 0.0
    return float(np.mean(count_units(m)[1][keep]))


def _integer_state(m: sp.csr_matrix, ev: dict[str, Any]) -> MatrixState:
    """Integers: counts, unless they are rounded normalised values (CPM, CP10k).

    Rounded normalised values give the cells (almost) one total, and the cells' smallest
    value is the rounded value of one count (above 1 in cells below the target total), where
    every cell of real counts holds genes seen once. Counts down-sampled to one depth share
    their total exactly and keep their ones.
    """
    rows = np.asarray(m.sum(axis=1)).ravel()
    nnz = np.diff(m.indptr)
    full = nnz >= 20
    mins = np.minimum.reduceat(m.data, m.indptr[:-1][full]) if full.any() else np.zeros(0)
    ev["cv_total"] = round(_cv(rows[rows > 0]), 6)
    ev["fraction_cells_without_ones"] = round(float(np.mean(mins > 1)), 6) if mins.size else 0.0
    if rows[rows > 0].size <= 2:
        return MatrixState("counts", ev)
    _, n_mode = np.unique(rows[rows > 0], return_counts=True)
    if ev["cv_total"] < _CV_CONSTANT and n_mode.max() >= 0.5 * (rows > 0).sum():
        ev["downsampled_to_total"] = float(np.median(rows[rows > 0]))  # still counts
        return MatrixState("counts", ev)
    if ev["cv_total"] < _CV_CONSTANT or (
        ev["cv_total"] < 0.15 and ev["fraction_cells_without_ones"] >= 0.5
    ):
        ev["median_total"] = float(np.median(rows[rows > 0]))
        ev["rounded"] = True
        return MatrixState("normalized", ev)
    return MatrixState("counts", ev)


def _log_state(m: sp.csr_matrix, ev: dict[str, Any]) -> MatrixState:
    """Small non-integer values: log1p-normalised, log2(TPM+1) or unknown log scale."""
    rows_e = np.asarray(m.expm1().sum(axis=1)).ravel()
    m2 = m.copy()
    m2.data = np.exp2(m2.data) - 1.0
    rows_2 = np.asarray(m2.sum(axis=1)).ravel()
    nz = rows_e > 0
    ev["cv_total_expm1"] = round(_cv(rows_e[nz]), 6)
    ev["cv_total_exp2m1"] = round(_cv(rows_2[nz]), 6)
    if ev["cv_total_expm1"] < _CV_CONSTANT and nz.sum() > 1:
        ev["target_sum"] = float(np.median(rows_e[nz]))
        return MatrixState("log1p_normalized", ev)
    if (ev["cv_total_exp2m1"] < _CV_CONSTANT and nz.sum() > 1) or abs(
        np.median(rows_2[nz]) / 1e6 - 1
    ) < 0.05:
        ev["median_total_exp2m1"] = float(np.median(rows_2[nz]))
        return MatrixState("log2_tpm", ev)
    return MatrixState("log_unknown", ev)


def detect_matrix_state(x: Any) -> MatrixState:
    """Decide what a cells × genes matrix holds.

    Parameters
    ----------
    x
        Dense or sparse matrix (cells × genes).

    Returns
    -------
    MatrixState
        The decision and its evidence. Only a probe of evenly spaced cells is read
        (``evidence["cells_probed"]``); :func:`tmesig.io.check_cells` re-checks the chosen
        matrix cell by cell.
    """
    if x is None or x.shape[0] == 0 or x.shape[1] == 0:
        return MatrixState("empty", {"shape": [] if x is None else [int(s) for s in x.shape]})
    m = _probe_rows(x)
    data = m.data
    ev: dict[str, Any] = {"cells_probed": int(m.shape[0]), "nonzero_values": int(data.size)}
    finite = np.isfinite(data)
    if not np.all(finite):
        ev["non_finite_values"] = int((~finite).sum())
        return MatrixState("non_finite", ev)
    if data.size == 0:
        return MatrixState("all_zero", ev)
    ev.update(min=float(data.min()), max=float(data.max()))
    frac_int = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    ev["fraction_integer"] = round(frac_int, 6)
    if ev["min"] < 0:
        ev["negative_values"] = int((data < 0).sum())
        return MatrixState("scaled", ev)
    if frac_int == 1.0:
        return _integer_state(m, ev)
    rows = np.asarray(m.sum(axis=1)).ravel()
    ev["cv_total"] = round(_cv(rows[rows > 0]), 6)
    ev["fraction_multiple_of_cell_min"] = round(_multiples_of_cell_min(m), 6)
    constant = ev["cv_total"] < _CV_CONSTANT and (rows > 0).sum() > 1
    if not constant and float(np.mean(np.abs(2 * data - np.round(2 * data)) < 1e-6)) == 1.0:
        return MatrixState("half_integer_counts", ev)
    if constant or ev["fraction_multiple_of_cell_min"] > 0.999:
        ev["median_total"] = float(np.median(rows[rows > 0]))
        return MatrixState("normalized", ev)
    mix = scale_mixture(cell_profile(m))
    if mix is not None:
        ev["mixture"] = mix
        return MatrixState("mixed", ev)
    if ev["max"] > 30:
        # log-scale values of expression never reach 30 (e^30 ~ 1e13 counts).
        return MatrixState("corrected_counts", ev)
    return _log_state(m, ev)
