"""Counts recovered exactly from normalised or log-normalised values.

Normalised counts are ``counts × s_i`` (one factor per cell: CPM, CP10k, size factors), and
log-normalised values ``log1p`` or ``log2(x + 1)`` of them: once the log is undone, a cell's
smallest non-zero value is one count, and dividing by it must give integers everywhere
(checked: a rounding error above 0.01 anywhere and nothing is recovered).
"""

import itertools
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .cell_checks import count_units
from .matrix_state import STATE_WORDS, MatrixState
from .rows import is_stream

__all__ = ["recovered"]

Candidate = tuple[str, Any, pd.DataFrame]


#: How log values are undone before the scale is: natural (``log1p``) or base 2 (``log2(x+1)``).
_UNLOG = {"": None, "log1p": np.expm1, "log2": lambda d: np.exp2(d) - 1.0}


def _recover_scaled(x: Any, *, log: str) -> tuple[sp.csr_matrix, float, int]:
    """Invert ``counts × s_i`` (after undoing ``log``, a key of :data:`_UNLOG`): a cell's
    smallest value is one count (or 2 to 4: :func:`~tmesig.io.cell_checks.count_units`).

    Returns the recovered counts, the largest distance of any value from an integer and the
    number of cells whose smallest value was already 1 (unscaled counts).
    """
    m = sp.csr_matrix(x, dtype=np.float64).copy()
    m.eliminate_zeros()
    if _UNLOG[log] is not None:
        m.data = _UNLOG[log](m.data)
    nnz = np.diff(m.indptr)
    unit, _ = count_units(m)
    m.data = m.data / np.repeat(unit, nnz)
    err = float(np.max(np.abs(m.data - np.round(m.data)))) if m.nnz else 0.0
    m.data = np.round(m.data)
    return m, err, int(np.sum((nnz > 0) & (np.abs(unit - 1.0) < 1e-6)))


def _recover(x: Any, *, log: str) -> tuple[Any, float, int]:
    """:func:`_recover_scaled` of a matrix, or of a stream one block at a time (row by row:
    the same numbers; the stream gets the recovery as a step)."""
    if not is_stream(x):
        return _recover_scaled(x, log=log)
    err, n_unit = 0.0, 0
    for block in x.blocks():
        _, e, n = _recover_scaled(block, log=log)
        err, n_unit = max(err, e), n_unit + n
    return x.then(lambda b: _recover_scaled(b, log=log)[0]), err, n_unit


#: States whose counts may be recovered, and how their values are un-logged (tried in turn):
#: log1p of counts scaled per cell to one total, CPM/CP10k, and log values of unknown scale -
#: log1p or log2(x + 1) of raw counts or of counts divided by size factors.
_RECOVERABLE = {
    "log1p_normalized": ("log1p",),
    "normalized": ("",),
    "log_unknown": ("log1p", "log2"),
}


def recovered(
    candidates: list[Candidate], states: dict[str, MatrixState], decision: dict[str, Any]
) -> Candidate | None:
    """Counts recovered exactly from log-normalised or normalised values, if any.

    Parameters
    ----------
    candidates
        ``(name, matrix, var)`` of each place counts may be, in the order they are tried.
    states
        What each holds (:func:`~tmesig.io.detect_matrix_state`).
    decision
        The record of :func:`~tmesig.io.find_counts` (source, state, notes: changed in place).

    Returns
    -------
    tuple or None
        ``(name, recovered counts, var)`` of the first candidate whose counts are recovered.
    """
    for wanted, logs in _RECOVERABLE.items():
        for (name, x, var), log in itertools.product(candidates, logs):
            if states[name].state != wanted or states[name].evidence.get("rounded"):
                continue
            rec, err, n_unit = _recover(x, log=log)
            how = {"log1p": "expm1 undone, ", "log2": "log2(x+1) undone, "}.get(log, "")
            if err < 0.01:
                decision.update(
                    source=name, state=wanted, recovered=True, non_counts=False, normalised=False
                )
                decision["max_rounding_error"] = err
                decision["cells_unscaled"] = n_unit
                already = (
                    f"; {n_unit} of {rec.shape[0]} cells were already unscaled counts"
                    if 0 < n_unit < rec.shape[0] and wanted != "log1p_normalized"
                    else ""
                )
                decision.setdefault("notes", []).append(
                    f"{name}: {STATE_WORDS[wanted]}; counts recovered exactly ({how}each cell's "
                    "smallest value is one count, or 2 to 4 in a cell without a gene seen once; "
                    f"every recovered value is an integer){already}"
                )
                return name, rec, var
            if wanted != "log_unknown":  # unknown scales: only a try
                decision.setdefault("notes", []).append(
                    f"{name}: {STATE_WORDS[wanted]} but counts not recoverable (rounding error "
                    f"{err:.3g})"
                )
    return None
