"""The per-patient view: each set's mean score per patient and lineage, as a z-score against
the cohort of patients."""

import numpy as np
import pandas as pd

from ..constants import UNASSIGNED

__all__ = ["PATIENT_COLUMNS", "patient_scores", "top_deviations"]

#: Columns of :func:`patient_scores`, in order.
PATIENT_COLUMNS = ["patient", "condition", "compartment", "set", "n_cells", "mean", "z"]


def patient_scores(
    scores: pd.DataFrame,
    *,
    compartment: pd.Series,
    patient: pd.Series,
    condition: pd.Series | None = None,
    min_cells: int = 10,
    min_patients: int = 3,
) -> pd.DataFrame:
    """Mean score of every set per patient × compartment, and its z-score over patients.

    A patient sampled in several conditions (pre and post) is one row per condition. For each
    compartment × set, ``z = (mean - m) / s`` where ``m`` and ``s`` (SD, ddof 1) are taken over
    the patients with at least ``min_cells`` cells in the compartment; ``z`` is empty for the
    others, and for every patient when fewer than ``min_patients`` qualify or ``s`` is 0.
    ``unassigned`` cells are left out.

    Parameters
    ----------
    scores
        Cells × sets.
    compartment, patient
        Compartment and patient of each cell (indexed like ``scores``).
    condition
        Condition of each cell, or ``None`` (the column is then empty).
    min_cells
        Cells a patient needs in a compartment to enter the cohort statistics.
    min_patients
        Patients needed for a z-score.

    Returns
    -------
    DataFrame
        Long format: :data:`PATIENT_COLUMNS`, sorted by compartment, set, patient, condition.
    """
    comp = compartment.reindex(scores.index).astype(str)
    keep = (comp != UNASSIGNED).to_numpy()
    cond = (
        condition.reindex(scores.index).astype(str)
        if condition is not None
        else pd.Series("", index=scores.index)
    )
    keys = pd.DataFrame(
        {
            "patient": patient.reindex(scores.index).astype(str).to_numpy(),
            "condition": cond.to_numpy(),
            "compartment": comp.to_numpy(),
        },
        index=scores.index,
    )[keep]
    grouped = scores[keep].astype(np.float64).groupby([keys[c] for c in keys.columns], sort=True)
    means = grouped.mean()
    n = grouped.size()
    long = means.stack().rename("mean").reset_index()
    long.columns = ["patient", "condition", "compartment", "set", "mean"]
    long["n_cells"] = n.reindex(
        pd.MultiIndex.from_frame(long[["patient", "condition", "compartment"]])
    ).to_numpy()
    long["z"] = _cohort_z(long, min_cells=min_cells, min_patients=min_patients)
    out = long[PATIENT_COLUMNS].sort_values(["compartment", "set", "patient", "condition"])
    return out.reset_index(drop=True)


def _cohort_z(long: pd.DataFrame, *, min_cells: int, min_patients: int) -> np.ndarray:
    """z of each row within its compartment × set, over the rows with enough cells."""
    z = np.full(len(long), np.nan)
    ok = (long["n_cells"] >= min_cells).to_numpy()
    for _, idx in long.groupby(["compartment", "set"], sort=False).indices.items():
        use = idx[ok[idx]]
        if len(use) < min_patients:
            continue
        vals = long["mean"].to_numpy()[use]
        sd = vals.std(ddof=1)
        if sd > 0:
            z[use] = (vals - vals.mean()) / sd
    return z


def top_deviations(
    patients: pd.DataFrame, *, pairs: pd.DataFrame | None = None, n: int = 10
) -> pd.DataFrame:
    """The rows of :func:`patient_scores` with the largest ``|z|``.

    Parameters
    ----------
    patients
        :func:`patient_scores`.
    pairs
        Optional ``compartment``, ``set`` pairs to keep (e.g. the pre-specified ones).
    n
        Rows returned.

    Returns
    -------
    DataFrame
        Up to ``n`` rows, largest ``|z|`` first (ties by compartment, set, patient).
    """
    d = patients.dropna(subset=["z"])
    if pairs is not None:
        d = d.merge(pairs[["compartment", "set"]].drop_duplicates(), on=["compartment", "set"])
    d = d.assign(_abs=-d["z"].abs())
    d = d.sort_values(["_abs", "compartment", "set", "patient"], kind="stable").head(n)
    return d.drop(columns="_abs").reset_index(drop=True)
