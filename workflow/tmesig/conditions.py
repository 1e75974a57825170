"""Condition comparisons (responder vs non-responder, pre vs post) with patients as the unit.

Scores are first averaged per patient × condition × compartment (a pseudobulk of scores;
a patient contributes to a compartment only with at least ``min_cells`` cells there). Two
conditions are then compared on those patient means:

* **paired** when at least ``min_patients`` patients were sampled in both conditions: a
  paired t-test on the within-patient differences (patients seen in one condition only are
  left out, and counted);
* **unpaired** otherwise: Welch's t-test on the patient means of the two groups.

The effect is the difference ``test − reference`` in score units with its 95% confidence
interval (t-based; Welch–Satterthwaite degrees of freedom when unpaired) and a
standardised effect (Hedges' g, or d_z for paired designs). With fewer than
``min_patients`` patients per group (or pairs) no p-value is reported and ``note`` says so.
p-values are adjusted by Benjamini–Hochberg separately in two families, as for the
compartment flags: *primary* (each set in the compartments it applies to — the
pre-specified hypotheses) and *exploratory* (all other compartment × set pairs).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .constants import ANY, UNASSIGNED, direction_sign
from .io.errors import InputError
from .signatures import GeneSet
from .stats import fdr_by_family

__all__ = [
    "ConditionOptions",
    "Contrast",
    "compare_conditions",
    "compare_units",
    "patient_means",
    "resolve_contrast",
]


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
    levels = sorted({str(x) for x in levels if str(x) not in ("", "NA", "nan")})
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


def patient_means(
    values: pd.DataFrame,
    *,
    compartment: pd.Series,
    patient: pd.Series,
    condition: pd.Series,
    min_cells: int = 10,
) -> pd.DataFrame:
    """Mean of each column per compartment × patient × condition (small groups dropped).

    Parameters
    ----------
    values
        Cells × values (e.g. scores).
    compartment, patient, condition
        Per-cell labels (reindexed to ``values``).
    min_cells
        Groups with fewer cells are dropped.

    Returns
    -------
    DataFrame
        A long table: ``compartment``, ``patient``, ``condition``, ``n_cells`` and one
        column per input column. Unassigned cells are left out.
    """
    df = values.copy()
    df["compartment"] = compartment.reindex(values.index).astype(str).to_numpy()
    df["patient"] = patient.reindex(values.index).astype(str).to_numpy()
    df["condition"] = condition.reindex(values.index).astype(str).to_numpy()
    df = df[df["compartment"] != UNASSIGNED]
    keys = ["compartment", "patient", "condition"]
    g = df.groupby(keys, sort=True, observed=True)
    out = g.size().rename("n_cells").to_frame().join(g[list(values.columns)].mean()).reset_index()
    return out[out["n_cells"] >= min_cells].reset_index(drop=True)


def compare_units(
    ref: pd.Series, test: pd.Series, *, min_units: int = 3, alpha: float = 0.05
) -> dict[str, Any]:
    """Compare per-patient values of two conditions (index = patient).

    Paired when at least ``min_units`` patients appear in both, else unpaired (Welch).

    Parameters
    ----------
    ref, test
        One value per patient in the reference and the test condition (NaN left out).
    min_units
        Minimum pairs for a paired test, or patients per condition for an unpaired one.
    alpha
        The confidence intervals are ``1 - alpha``.

    Returns
    -------
    dict
        ``n_ref``, ``n_test``, ``n_pairs``, ``mean_ref``, ``mean_test``, ``effect``,
        ``ci_low``, ``ci_high``, ``std_effect``, ``p``, ``note``, ``design``.
    """
    ref, test = ref.dropna(), test.dropna()
    both = ref.index.intersection(test.index)
    out: dict[str, Any] = {
        "n_ref": int(len(ref)),
        "n_test": int(len(test)),
        "n_pairs": int(len(both)),
        "mean_ref": float(ref.mean()) if len(ref) else np.nan,
        "mean_test": float(test.mean()) if len(test) else np.nan,
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "std_effect": np.nan,
        "p": np.nan,
        "note": "",
    }
    q = 1 - alpha / 2
    if len(both) >= min_units:
        _paired(out, ref, test, both, q)
    else:
        _unpaired(out, ref, test, both, q, min_units)
    return out


def _add_note(out: dict[str, Any], text: str) -> None:
    out["note"] = (out["note"] + "; " if out["note"] else "") + text


def _paired(out: dict[str, Any], ref: pd.Series, test: pd.Series, both: pd.Index, q: float) -> None:
    """Paired t-test on the within-patient differences (patients in one condition left out)."""
    d = (test.loc[both] - ref.loc[both]).to_numpy(dtype=float)
    n = len(d)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    out.update(design="paired", effect=mean)
    if sd > 0:
        half = stats.t.ppf(q, n - 1) * sd / np.sqrt(n)
        out.update(
            ci_low=mean - half,
            ci_high=mean + half,
            std_effect=mean / sd,
            p=float(stats.ttest_rel(test.loc[both], ref.loc[both]).pvalue),
        )
    else:
        out["note"] = "identical within-patient differences: no test"
    unpaired_left = len(ref) + len(test) - 2 * len(both)
    if unpaired_left:
        _add_note(
            out, f"{unpaired_left} patient sample(s) seen in one condition only were left out"
        )


def _unpaired(
    out: dict[str, Any],
    ref: pd.Series,
    test: pd.Series,
    both: pd.Index,
    q: float,
    min_units: int,
) -> None:
    """Welch's t-test on the patient means (patients in both conditions left out)."""
    out["design"] = "unpaired"
    if len(both):
        # a patient in both groups would be counted twice: keep it in neither
        ref, test = ref.drop(both), test.drop(both)
        out.update(n_ref=int(len(ref)), n_test=int(len(test)))
        out["note"] = (
            f"{len(both)} patient(s) in both conditions left out (too few pairs for a paired test)"
        )
    if len(ref):
        out["mean_ref"] = float(ref.mean())
    if len(test):
        out["mean_test"] = float(test.mean())
    if len(ref) and len(test):
        out["effect"] = float(test.mean() - ref.mean())
    if len(ref) < min_units or len(test) < min_units:
        out["design"] = "insufficient"
        _add_note(
            out,
            f"fewer than {min_units} patients per condition ({len(ref)} vs {len(test)}): no test",
        )
        return
    _welch(out, ref, test, q)


def _welch(out: dict[str, Any], ref: pd.Series, test: pd.Series, q: float) -> None:
    """Welch–Satterthwaite interval, Hedges' g and Welch's p into ``out``."""
    v1, v2 = float(ref.var(ddof=1)), float(test.var(ddof=1))
    n1, n2 = len(ref), len(test)
    se = np.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        out["note"] = "no variation between patients: no test"
        return
    df = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    half = stats.t.ppf(q, df) * se
    pooled = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    g = out["effect"] / pooled * (1 - 3 / (4 * (n1 + n2) - 9)) if pooled > 0 else np.nan
    out.update(
        ci_low=out["effect"] - half,
        ci_high=out["effect"] + half,
        std_effect=g,
        p=float(stats.ttest_ind(test, ref, equal_var=False).pvalue),
    )


@dataclass(frozen=True)
class ConditionOptions:
    """Thresholds of :func:`compare_conditions` (the config's ``conditions`` section).

    Parameters
    ----------
    min_cells : int
        Minimum cells of a patient in a compartment and condition to contribute.
    min_patients : int
        Minimum patients per condition (or pairs) for a test.
    alpha : float
        Confidence level of the intervals is ``1 - alpha``; FDR level for ``significant``.
    """

    min_cells: int = 10
    min_patients: int = 3
    alpha: float = 0.05

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ConditionOptions":
        """Options from the config's ``conditions`` section (all three keys required).

        Parameters
        ----------
        section : mapping
            ``config["conditions"]`` (its ``reference`` and ``test`` are ignored here).

        Returns
        -------
        ConditionOptions
        """
        return cls(
            min_cells=section["min_cells"],
            min_patients=section["min_patients"],
            alpha=section["alpha"],
        )


def compare_conditions(
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    compartment: pd.Series,
    patient: pd.Series,
    condition: pd.Series,
    contrast: Contrast,
    options: ConditionOptions | None = None,
) -> pd.DataFrame:
    """Compare two conditions per compartment × set with patients as the unit.

    Parameters
    ----------
    scores
        Cells × sets.
    sets
        Gene sets (for their direction).
    compartment, patient, condition
        Per-cell labels aligned with ``scores``.
    contrast
        The two conditions, see :func:`resolve_contrast`.
    options
        ``min_cells``, ``min_patients``, ``alpha`` (default :class:`ConditionOptions` ()).

    Returns
    -------
    DataFrame
        One row per compartment × set: ``compartment``, ``set``, ``direction``,
        ``family`` (``primary`` where the set applies to the compartment, else
        ``exploratory``), ``reference``, ``test``, the fields of :func:`compare_units`,
        ``resistance_effect`` (``std_effect`` signed so that positive means the test
        condition is further towards resistance), ``fdr`` (BH within the family) and
        ``significant``.
    """
    opts = ConditionOptions() if options is None else options
    by_name = {gs.name: gs for gs in sets}
    pm = patient_means(
        scores,
        compartment=compartment,
        patient=patient,
        condition=condition,
        min_cells=opts.min_cells,
    )
    rows = []
    for comp, sub in pm.groupby("compartment", sort=True):
        r = sub[sub["condition"] == contrast.reference].set_index("patient")
        t = sub[sub["condition"] == contrast.test].set_index("patient")
        for set_name in scores.columns:
            res = compare_units(
                r[set_name], t[set_name], min_units=opts.min_patients, alpha=opts.alpha
            )
            rows.append(_row(comp, by_name[set_name], contrast, res))
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["fdr"] = fdr_by_family(out)
    out["significant"] = (out["fdr"] <= opts.alpha).fillna(False).astype(bool)
    if contrast.note:
        out["note"] = [f"{n}; {contrast.note}" if n else contrast.note for n in out["note"]]
    return out


def _row(comp: str, gs: GeneSet, contrast: Contrast, res: dict[str, Any]) -> dict[str, Any]:
    """One output row: the compartment × set, its family, the comparison, the signed effect."""
    applies = (ANY in gs.compartments) or (comp in gs.compartments)
    return {
        "compartment": comp,
        "set": gs.name,
        "direction": gs.direction,
        "family": "primary" if applies else "exploratory",
        "reference": contrast.reference,
        "test": contrast.test,
        **res,
        "resistance_effect": direction_sign(gs.direction) * res["std_effect"],
    }
