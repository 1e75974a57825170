"""Per-cell checks of the matrix chosen as counts: impossible values and mixed scales.

:func:`~tmesig.io.detect_matrix_state` decides what a matrix holds from a probe of cells;
:func:`check_cells` then reads every cell of the chosen matrix (in row chunks, in float64,
before any conversion to float32 that would turn ``1e39`` into ``inf``) and refuses

- non-finite values (NaN, infinite) and absurd values (above :data:`MAX_VALUE`: no cell has
  a billion reads of one gene - an overflow or a broken export), naming how many values and
  cells;
- a matrix whose cells are on different scales: some cells integer counts, others
  log-normalised (non-integer, all below :data:`LOG_MAX`) or normalised to one total (CPM,
  CP10k) - e.g. two exports concatenated. The message counts the cells of each kind per
  sample.

A mixture of integer cells and count-like non-integer cells (ambient-corrected counts) is
accepted and recorded.
"""

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import InputError

__all__ = [
    "CELL_MIN_COUNTS",
    "MAX_MIN_COUNTS",
    "EMPTY_MAX_COUNTS",
    "LOG_MAX",
    "MAX_VALUE",
    "cell_profile",
    "check_cells",
    "count_units",
    "scale_mixture",
]

#: Largest plausible value of one gene in one cell (counts or normalised values).
MAX_VALUE = 1e9
#: Log-scale expression stays below this (log1p of 1e8, log2 of 1e6 ~ 20).
LOG_MAX = 20.0
#: Cells with fewer non-zero values are not classified (too little evidence).
_MIN_NNZ = 5
#: Cells read at a time (the float64 copy and its temporaries stay a few hundred MB).
_CHUNK = 1024
#: Most counts a cell's smallest value may stand for (a cell without a gene seen once among
#: the genes kept, e.g. CP10k of the whole transcriptome subset to variable genes).
MAX_MIN_COUNTS = 4
#: A barcode with fewer counts is an empty droplet (ambient RNA), not a cell.
EMPTY_MAX_COUNTS = 20
#: A barcode with at least this many counts holds a cell.
CELL_MIN_COUNTS = 200


def _row_stats(m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Per-row nnz, non-integer, non-finite, absurd counts, max, total and expm1-total."""
    d = m.data
    starts = m.indptr[:-1]
    nnz = np.diff(m.indptr)
    row = np.repeat(np.arange(m.shape[0]), nnz)
    n = m.shape[0]
    finite = np.isfinite(d)
    safe = np.where(finite, d, 0.0)
    nonint = finite & (np.abs(safe - np.round(safe)) > 1e-6)
    mx = np.full(n, -np.inf)
    has = nnz > 0
    if d.size:
        mx[has] = np.maximum.reduceat(safe, starts[has])
    with np.errstate(over="ignore"):
        em1 = np.expm1(np.minimum(safe, 700.0))
    return {
        "nnz": nnz,
        "nonint": np.bincount(row, weights=nonint, minlength=n),
        "nonfinite": np.bincount(row, weights=~finite, minlength=n),
        "absurd": np.bincount(row, weights=finite & (np.abs(safe) > MAX_VALUE), minlength=n),
        "max": mx,
        "total": np.bincount(row, weights=safe, minlength=n),
        "total_expm1": np.bincount(row, weights=em1, minlength=n),
    }


def cell_profile(x: Any) -> pd.DataFrame:
    """Per-cell numbers of a cells × genes matrix, read in chunks of rows as float64.

    Parameters
    ----------
    x
        Dense or sparse matrix (cells × genes).

    Returns
    -------
    DataFrame
        One row per cell: ``nnz``, ``nonint`` (non-integer values), ``nonfinite``, ``absurd``
        (values above :data:`MAX_VALUE`), ``max``, ``total``, ``total_expm1`` and ``kind``:
        ``sparse`` (fewer than 5 non-zero values), ``integer``, ``log`` (non-integer, max at
        most :data:`LOG_MAX`) or ``non_integer`` (non-integer, larger values).
    """
    parts = []
    for start in range(0, x.shape[0], _CHUNK):
        sub = x[start : start + _CHUNK]
        m = sp.csr_matrix(sub, dtype=np.float64)
        m.eliminate_zeros()
        parts.append(pd.DataFrame(_row_stats(m)))
    if not parts:
        parts.append(pd.DataFrame(_row_stats(sp.csr_matrix((0, 0)))))
    df = pd.concat(parts, ignore_index=True)
    small = df["max"] <= LOG_MAX
    kind = np.where(df["nonint"] > 0, np.where(small, "log", "non_integer"), "integer")
    df["kind"] = np.where(df["nnz"] < _MIN_NNZ, "sparse", kind)
    return df


def _cells_phrase(n_values: int, mask: np.ndarray, names: pd.Index) -> str:
    shown = ", ".join(map(str, names[mask][:3]))
    return f"{n_values} value(s) in {int(mask.sum())} cell(s) (e.g. {shown})"


def _check_values(df: pd.DataFrame, names: pd.Index, source: str) -> None:
    """Refuse NaN/infinite and absurdly large values, counting values and cells."""
    bad = df["nonfinite"].to_numpy() > 0
    if bad.any():
        msg = (
            f"the matrix {source} holds NaN or infinite values: "
            f"{_cells_phrase(int(df['nonfinite'].sum()), bad, names)}; a broken export - "
            "repair or re-export the matrix (or remove those cells)"
        )
        raise InputError(msg)
    big = df["absurd"].to_numpy() > 0
    if big.any():
        msg = (
            f"the matrix {source} holds absurdly large values: "
            f"{_cells_phrase(int(df['absurd'].sum()), big, names)} above {MAX_VALUE:.0e} "
            f"(largest {float(df['max'].max()):.3g}); no cell has that many reads of a gene - an "
            "overflow or a broken export: repair or re-export the matrix (or remove those cells)"
        )
        raise InputError(msg)


def _by_group(kind: pd.Series, groups: pd.Series | None, a: str, b: str) -> str:
    """``"by sample: s1 1000 x / 0 y, ..."`` (at most 10 groups)."""
    if groups is None:
        return ""
    tab = pd.crosstab(np.asarray(groups.astype(str)), kind.to_numpy())
    items = [
        f"{g}: {int(tab.loc[g].get(a, 0))} {a} / {int(tab.loc[g].get(b, 0))} {b}"
        for g in tab.index[:10]
    ]
    more = f" and {len(tab) - 10} more" if len(tab) > 10 else ""
    return f"; by {groups.name or 'group'}: " + ", ".join(items) + more


def scale_mixture(profile: pd.DataFrame) -> str | None:
    """Whether integer cells sit beside cells of another scale.

    Parameters
    ----------
    profile
        The output of :func:`cell_profile`.

    Returns
    -------
    str or None
        ``"log"`` (at least 3 integer cells and at least 3 non-integer cells, 95% of these
        below :data:`LOG_MAX`, with constant ``expm1`` totals or integer cells reaching
        higher), ``"normalised"`` (non-integer cells sharing one total beside at least 3
        integer cells that do not) or None.
    """
    df = profile
    kind = df["kind"]
    ints, nonint = kind == "integer", kind.isin(["log", "non_integer"])
    if ints.sum() < 3 or nonint.sum() < 3:
        return None
    log = kind == "log"
    if log.sum() >= 0.95 * nonint.sum():
        tot = df.loc[log, "total_expm1"]
        const = float(tot.std() / tot.mean()) < 0.05 if tot.mean() > 0 else False
        if const or float(df.loc[ints, "max"].median()) > LOG_MAX:
            return "log"
    tot, med = df.loc[nonint, "total"], float(df.loc[nonint, "total"].median())
    # integer cells sharing the normalised total are normalised cells that happen to be whole
    same = np.abs(df.loc[ints, "total"] / med - 1) < 0.01 if med > 0 else ints[ints]
    if (np.abs(tot / med - 1) < 0.01).mean() >= 0.9 and (~same).sum() >= 3:
        return "normalised"
    return None


def check_cells(
    x: Any, *, source: str, names: pd.Index | None = None, groups: pd.Series | None = None
) -> dict[str, Any]:
    """Check every cell of the matrix chosen as counts; refuse impossible values and mixtures.

    Parameters
    ----------
    x
        The chosen matrix (cells × genes), before any conversion to float32.
    source
        Where it was read from (``"X"``, ``"raw"``, ``"layers/counts"``), for messages.
    names
        Cell barcodes (shown in messages); default ``0, 1, ...``.
    groups
        Sample label of each cell (its ``name`` is shown), to count the cells of each kind
        per sample in the mixture message.

    Returns
    -------
    dict
        Evidence: how many cells are integer, log-scale, non-integer or too sparse to tell,
        how many total less than :data:`EMPTY_MAX_COUNTS` (``cells_below_empty_max``) and at
        least :data:`CELL_MIN_COUNTS` (``cells_above_cell_min``), the largest value.

    Raises
    ------
    InputError
        NaN/infinite or absurd values, or integer cells mixed with log-normalised or
        normalised (constant-total) cells.
    """
    df = cell_profile(x)
    names = pd.Index(range(len(df))) if names is None else pd.Index(names)
    _check_values(df, names, source)
    counts = df["kind"].value_counts()
    ev = {f"cells_{k}": int(counts.get(k, 0)) for k in ("integer", "log", "non_integer", "sparse")}
    ev["cells_below_empty_max"] = int((df["total"] < EMPTY_MAX_COUNTS).sum())
    ev["cells_above_cell_min"] = int((df["total"] >= CELL_MIN_COUNTS).sum())
    ev["max_value"] = float(df["max"].max()) if len(df) else 0.0
    mix = scale_mixture(df)
    if mix is None:
        return ev
    other = "log" if mix == "log" else "non_integer"
    what = (
        "log-normalised values (non-integer, all below 20)"
        if mix == "log"
        else "normalised values with the same total per cell (CPM/CP10k)"
    )
    msg = (
        f"the matrix {source} mixes scales: {ev['cells_integer']} cells hold raw integer counts "
        f"and {ev['cells_' + other]} cells hold {what}"
        f"{_by_group(df['kind'].rename(None), groups, 'integer', other)}. Cells on different "
        "scales cannot be analysed together (two exports concatenated?): export the raw counts "
        "of every cell (e.g. layers['counts'] before normalisation), or drop the cells that "
        "are not counts"
    )
    raise InputError(msg)


def count_units(m: sp.csr_matrix, *, tol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """The value of one count in each cell of normalised counts (``count × s_i``).

    A cell's smallest value is ``k`` counts, ``k`` the smallest of 1 to :data:`MAX_MIN_COUNTS`
    for which every value of the cell is a whole number of ``smallest / k`` (1 when none is).

    Parameters
    ----------
    m
        Cells × genes, CSR, no stored zeros.
    tol
        Relative tolerance of "a whole number".

    Returns
    -------
    unit, whole
        Per cell the value of one count; per stored value whether it is a whole number of
        its cell's unit.
    """
    n = m.shape[0]
    nnz = np.diff(m.indptr)
    has = nnz > 0
    mins = np.ones(n)
    if m.nnz:
        mins[has] = np.minimum.reduceat(m.data, m.indptr[:-1][has])
    mins[~(mins > 0)] = 1.0
    row = np.repeat(np.arange(n), nnz)
    ratio = m.data / np.repeat(mins, nnz)
    k_cell = np.zeros(n)
    for k in range(1, MAX_MIN_COUNTS + 1):
        r = ratio * k
        off = np.abs(r - np.round(r)) >= tol * np.maximum(r, 1.0)
        whole = np.bincount(row, weights=off, minlength=n) == 0
        k_cell[whole & (k_cell == 0)] = k
    unit = mins / np.where(k_cell == 0, 1.0, k_cell)
    r = m.data / np.repeat(unit, nnz)
    return unit, np.abs(r - np.round(r)) < tol * np.maximum(r, 1.0)
