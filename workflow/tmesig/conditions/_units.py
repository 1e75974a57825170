"""Two conditions compared on one value per patient: paired t-test or Welch's t-test."""

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["compare_units"]


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
