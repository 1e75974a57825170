"""Which pseudobulks of a compartment enter its test, with which design, and why others not.

Patients are the unit. A patient × condition pseudobulk needs ``min_cells`` cells. Then:

* **paired** (``~patient + condition``) when at least ``min_patients`` patients have a
  pseudobulk in both conditions. Patients seen in one condition only are left out: with a
  patient term their single pseudobulk is fitted exactly and says nothing about the
  condition effect, and leaving them out keeps the test the same kind as the
  ``conditions`` stage's paired test (the note names them);
* **unpaired** (``~condition``) otherwise, on the patients seen in one condition only;
  patients seen in both are left out rather than counted twice (the note names them);
* **insufficient**: fewer than ``min_patients`` patients (or pairs) per condition: no test.
"""

from dataclasses import dataclass

import pandas as pd

from ..constants import COL_CONDITION, COL_PATIENT

__all__ = ["UnitChoice", "choose_units"]

PAIRED, UNPAIRED, INSUFFICIENT = "paired", "unpaired", "insufficient"


@dataclass(frozen=True)
class UnitChoice:
    """The pseudobulks a compartment's test uses.

    Attributes
    ----------
    design : str
        ``paired``, ``unpaired`` or ``insufficient``.
    units : pandas.DataFrame
        The chosen rows of the compartment's pseudobulk table (``patient``, ``is_test``...).
    n_ref, n_test, n_pairs : int
        Patients in the reference / test condition, and pairs, among the chosen units.
    note : str
        Which patients were left out and why ('' when none).
    """

    design: str
    units: pd.DataFrame
    n_ref: int
    n_test: int
    n_pairs: int
    note: str


def _names(patients: pd.Series | list[str]) -> str:
    return ", ".join(sorted(map(str, patients)))


def choose_units(
    meta: pd.DataFrame, *, reference: str, test: str, min_cells: int, min_patients: int
) -> UnitChoice:
    """Choose the design and the pseudobulks of one compartment (see the module docstring).

    Parameters
    ----------
    meta : pandas.DataFrame
        The compartment's pseudobulks: ``patient``, ``condition``, ``n_cells``.
    reference, test : str
        The two conditions compared (others are ignored).
    min_cells : int
        Cells a pseudobulk needs.
    min_patients : int
        Patients per condition (or pairs) a test needs.

    Returns
    -------
    UnitChoice
    """
    notes = []
    m = meta[meta[COL_CONDITION].isin([reference, test])].copy()
    small = m[m["n_cells"] < min_cells]
    if len(small):
        listed = ", ".join(
            f"{p} ({c}: {n} cells)"
            for p, c, n in small[[COL_PATIENT, COL_CONDITION, "n_cells"]].itertuples(index=False)
        )
        notes.append(f"left out, fewer than {min_cells} cells: {listed}")
    m = m[m["n_cells"] >= min_cells]
    m["is_test"] = m[COL_CONDITION] == test
    ref_p, test_p = set(m.loc[~m["is_test"], COL_PATIENT]), set(m.loc[m["is_test"], COL_PATIENT])
    both = ref_p & test_p
    if len(both) >= min_patients:
        single = sorted((ref_p | test_p) - both)
        if single:
            notes.append(f"paired design; left out, seen in one condition only: {_names(single)}")
        units = m[m[COL_PATIENT].isin(both)]
        return UnitChoice(PAIRED, units, len(both), len(both), len(both), "; ".join(notes))
    if both:
        notes.append(
            f"fewer than {min_patients} patients in both conditions for a paired design; "
            f"left out, not counted twice: {_names(both)}"
        )
    units = m[~m[COL_PATIENT].isin(both)]
    n_ref, n_test = len(ref_p - both), len(test_p - both)
    design = UNPAIRED
    if n_ref < min_patients or n_test < min_patients:
        design = INSUFFICIENT
        notes.append(
            f"fewer than {min_patients} patients per condition ({n_ref} vs {n_test}): no test"
        )
    return UnitChoice(design, units, n_ref, n_test, 0, "; ".join(notes))
