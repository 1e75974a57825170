"""The per-patient view: each set's mean score per patient in each lineage and each cell state,
as a z-score against the cohort of patients (which patient's tumour carries which programme, in
which compartment)."""

import numpy as np
import pandas as pd

from ..constants import LEVEL_LINEAGE, LEVEL_STATE, UNASSIGNED

__all__ = ["PATIENT_COLUMNS", "patient_scores", "top_deviations"]

#: Columns of :func:`patient_scores`, in order.
PATIENT_COLUMNS = [
    "patient",
    "condition",
    "level",
    "compartment",
    "parent",
    "set",
    "n_cells",
    "mean",
    "z",
]
_KEYS = ["level", "compartment", "set"]


def patient_scores(
    scores: pd.DataFrame,
    *,
    compartment: pd.Series,
    patient: pd.Series,
    condition: pd.Series | None = None,
    state: pd.Series | None = None,
    parent: pd.Series | None = None,
    min_cells: int = 10,
    min_patients: int = 3,
) -> pd.DataFrame:
    """Mean score of every set per patient × lineage and × cell state, and its z over patients.

    A patient sampled in several conditions (pre and post) is one row per condition. For each
    level × compartment × set, ``z = (mean - m) / s`` where ``m`` and ``s`` (SD, ddof 1) are
    taken over the patients with at least ``min_cells`` cells in the compartment; ``z`` is
    empty for the others, and for every patient when fewer than ``min_patients`` qualify or
    ``s`` is 0. ``unassigned`` cells (lineage or state) are left out of that level.

    Parameters
    ----------
    scores
        Cells × sets.
    compartment, patient
        Lineage and patient of each cell (indexed like ``scores``).
    condition
        Condition of each cell, or ``None`` (the column is then empty).
    state, parent
        Cell state of each cell (``annotation.tsv``'s ``state``) and the state's lineage
        (``parent``; default: the cell's lineage); without ``state``, lineage rows only.
    min_cells
        Cells a patient needs in a compartment to enter the cohort statistics.
    min_patients
        Patients needed for a z-score.

    Returns
    -------
    DataFrame
        Long format: :data:`PATIENT_COLUMNS` (``level`` ``lineage`` or ``state``; ``parent``
        the lineage itself on lineage rows), sorted by level (lineage first), compartment,
        set, patient, condition.
    """
    idx = scores.index
    lineage = compartment.reindex(idx).astype(str)
    cond = condition.reindex(idx).astype(str) if condition is not None else None
    base = pd.DataFrame(
        {
            "patient": patient.reindex(idx).astype(str).to_numpy(),
            "condition": cond.to_numpy() if cond is not None else "",
        },
        index=idx,
    )
    parts = [_level_means(scores, base, lineage, lineage, LEVEL_LINEAGE)]
    if state is not None:
        up = parent.reindex(idx).astype(str) if parent is not None else lineage
        parts.append(_level_means(scores, base, state.reindex(idx).astype(str), up, LEVEL_STATE))
    long = pd.concat(parts, ignore_index=True)
    long["z"] = _cohort_z(long, min_cells=min_cells, min_patients=min_patients)
    order = {LEVEL_LINEAGE: 0, LEVEL_STATE: 1}
    out = long.assign(_lv=long["level"].map(order)).sort_values(
        ["_lv", "compartment", "set", "patient", "condition"], kind="stable"
    )
    return out[PATIENT_COLUMNS].reset_index(drop=True)


def _level_means(
    scores: pd.DataFrame, base: pd.DataFrame, label: pd.Series, parent: pd.Series, level: str
) -> pd.DataFrame:
    """Per patient × condition × label: mean of every set, cell count, the label's parent."""
    keep = (label != UNASSIGNED).to_numpy() & label.notna().to_numpy()
    keys = base.assign(compartment=label.to_numpy())[keep]
    if not keep.any():
        return pd.DataFrame(columns=[c for c in PATIENT_COLUMNS if c != "z"])
    grouped = scores[keep].astype(np.float64).groupby([keys[c] for c in keys.columns], sort=True)
    long = grouped.mean().stack().rename("mean").reset_index()
    long.columns = ["patient", "condition", "compartment", "set", "mean"]
    n = grouped.size()
    long["n_cells"] = n.reindex(
        pd.MultiIndex.from_frame(long[["patient", "condition", "compartment"]])
    ).to_numpy()
    # a state has one parent (contract); take the most frequent if the table disagrees
    parent_of = parent[keep].groupby(label[keep].to_numpy()).agg(lambda v: v.mode().iloc[0])
    long["parent"] = long["compartment"].map(parent_of).astype(str)
    long["level"] = level
    return long


def _cohort_z(long: pd.DataFrame, *, min_cells: int, min_patients: int) -> np.ndarray:
    """z of each row within its level × compartment × set, over the rows with enough cells."""
    z = np.full(len(long), np.nan)
    ok = (long["n_cells"] >= min_cells).to_numpy()
    values = long["mean"].to_numpy(dtype=float)
    for _, idx in long.groupby(_KEYS, sort=False).indices.items():
        use = idx[ok[idx]]
        if len(use) < min_patients:
            continue
        vals = values[use]
        sd = vals.std(ddof=1)
        if sd > 0:
            z[use] = (vals - vals.mean()) / sd
    return z


def _pairs(patients: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``patients`` in ``pairs`` (matched on level too when ``pairs`` has it)."""
    on = [c for c in _KEYS if c in pairs.columns and c in patients.columns]
    return patients.merge(pairs[on].drop_duplicates(), on=on)


def top_deviations(
    patients: pd.DataFrame, *, pairs: pd.DataFrame | None = None, n: int = 10
) -> pd.DataFrame:
    """The rows of :func:`patient_scores` with the largest ``|z|``.

    Parameters
    ----------
    patients
        :func:`patient_scores`.
    pairs
        Optional ``compartment``, ``set`` (and ``level``) pairs to keep (e.g. the
        pre-specified ones).
    n
        Rows returned.

    Returns
    -------
    DataFrame
        Up to ``n`` rows, largest ``|z|`` first (ties by compartment, set, patient).
    """
    d = patients.dropna(subset=["z"])
    if pairs is not None:
        d = _pairs(d, pairs)
    d = d.assign(_abs=-d["z"].abs())
    d = d.sort_values(["_abs", "compartment", "set", "patient"], kind="stable").head(n)
    return d.drop(columns="_abs").reset_index(drop=True)
