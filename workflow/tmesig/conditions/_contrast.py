"""The two conditions compared (``test − reference``) and how they are chosen."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from ..io.errors import InputError

__all__ = ["Contrast", "no_contrast_note", "resolve_contrast", "with_unit_note"]

_MISSING = ("", "NA", "nan")


@dataclass(frozen=True)
class Contrast:
    """Which two conditions are compared: ``test − reference``.

    Parameters
    ----------
    reference, test : str
        The two condition labels.
    note : str
        Why this pair was chosen, when not named in the config (appended to each row's note).
    """

    reference: str
    test: str
    note: str = ""


def resolve_contrast(
    levels: Sequence[str], *, reference: str | None, test: str | None
) -> Contrast | None:
    """Pick the two conditions to compare.

    With both names given they must be among ``levels``. With neither and exactly two levels,
    the alphabetically first is the reference (and the note says so). Returns ``None`` when
    there is nothing to compare (fewer than two levels).

    Parameters
    ----------
    levels
        The condition of each cell (or the distinct conditions); ``""``, ``NA``, ``nan`` ignored.
    reference, test
        The conditions named in the config, or None.

    Returns
    -------
    Contrast or None

    Raises
    ------
    InputError
        When a named condition is absent, or there are more than two levels and none is named.
    """
    levels = sorted({str(x) for x in levels if str(x) not in _MISSING})
    if reference is not None or test is not None:
        missing = [x for x in (reference, test) if x is None or x not in levels]
        if missing:
            msg = (
                f"conditions {missing} named in the config (conditions.reference / "
                f"conditions.test) are not in the data, whose conditions are {levels}; "
                "fix the config"
            )
            raise InputError(msg)
        return Contrast(str(reference), str(test))
    if len(levels) < 2:
        return None
    if len(levels) > 2:
        msg = (
            f"the condition column has {len(levels)} levels {levels}; name the two to compare "
            "with conditions.reference and conditions.test in the config"
        )
        raise InputError(msg)
    return Contrast(levels[0], levels[1], note=f"reference '{levels[0]}' chosen alphabetically")


def no_contrast_note(levels: Sequence[str]) -> str:
    """The note of a table without a comparison: no condition column, or only one condition.

    Parameters
    ----------
    levels
        The condition of each cell (or the distinct conditions); ``""``, ``NA``, ``nan`` ignored.

    Returns
    -------
    str
        ``"no condition to compare: ..."`` with the reason and the fix.
    """
    found = sorted({str(x) for x in levels if str(x) not in _MISSING})
    if not found:
        return (
            "no condition to compare: name a condition column (condition_col) in the sample sheet"
        )
    return (
        f"no condition to compare: every cell of the dataset is of condition {found[0]!r} (its "
        "condition column has one value); to compare conditions, put the samples of both in "
        "one dataset (one sample-sheet row)"
    )


#: Appended to every row's note when each sample is its own patient (no patient_col).
SAMPLES_AS_PATIENTS = (
    "each sample counted as its own patient (no patient column): samples are compared as "
    "independent; if some come from one patient (e.g. pre and post), name the patient "
    "column (patient_col) in the sample sheet so that they are paired"
)


def with_unit_note(contrast: Contrast, *, patient: pd.Series, sample: pd.Series) -> Contrast:
    """``contrast`` with :data:`SAMPLES_AS_PATIENTS` added to its note when every cell's
    patient is its sample (ingest's default without a ``patient_col``).

    A pre/post design without a patient column would otherwise be compared with Welch's
    test on samples that are not independent, and nothing in the table would say so.

    Parameters
    ----------
    contrast
        The resolved contrast.
    patient, sample
        Per-cell labels.

    Returns
    -------
    Contrast
        ``contrast`` itself when the patients are not the samples.
    """
    same = patient.astype(str).to_numpy() == sample.astype(str).to_numpy()
    if not len(same) or not same.all():
        return contrast
    note = "; ".join(x for x in (contrast.note, SAMPLES_AS_PATIENTS) if x)
    return replace(contrast, note=note)
