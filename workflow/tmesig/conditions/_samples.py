"""Every patient used: sample means compared by the test the design allows, drops named.

A sample contributes to a compartment with at least ``min_cells`` cells there. Then:

* every patient in both conditions: paired t-test on the patient means (exact);
* no patient in both: Welch's t-test on the patient means (exact);
* some in both, some in one: a linear mixed model of the sample means with a random
  intercept per patient (:func:`tmesig.conditions.mixed_model`), which uses every patient.
  When it fails, the exact test on the patients it can use (paired when at least
  ``min_units`` pairs, else Welch on the unpaired patients), with the reason in ``note``.

``note`` names every patient left out and why (fewer than ``min_cells`` cells, no cells,
seen in one condition only, seen in both without enough pairs).
"""

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..constants import COL_CONDITION, COL_PATIENT, COL_SAMPLE, UNASSIGNED
from ._contrast import Contrast
from ._mixed import mixed_model
from ._units import compare_units

__all__ = ["compare_samples", "patient_means", "sample_means"]

METHOD_PAIRED = "paired t-test"
METHOD_WELCH = "Welch t-test"
METHOD_MIXED = "mixed model (REML, random intercept per patient, Satterthwaite df)"
METHOD_NONE = "none"
_METHOD = {"paired": METHOD_PAIRED, "unpaired": METHOD_WELCH, "insufficient": METHOD_NONE}


def sample_means(values: pd.DataFrame, cells: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """Mean of each column per group × patient × sample × condition (unassigned cells left out).

    Parameters
    ----------
    values
        Cells × values (e.g. scores).
    cells
        Per-cell labels: ``by``, ``patient``, ``condition`` and, when known, ``sample``
        (without it each patient × condition counts as one sample).
    by
        The column of ``cells`` holding the group (``compartment`` or ``state``).

    Returns
    -------
    DataFrame
        ``compartment`` (the group), ``patient``, ``sample``, ``condition``, ``n_cells``
        and one column per input column; no group is dropped here (see
        :func:`compare_samples`).
    """
    lab = cells.reindex(values.index)
    df = values.copy()
    df["compartment"] = lab[by].astype(str).to_numpy()
    df["patient"] = lab[COL_PATIENT].astype(str).to_numpy()
    sample = lab[COL_SAMPLE] if COL_SAMPLE in lab.columns else lab[COL_PATIENT]
    df["sample"] = sample.astype(str).to_numpy()
    df["condition"] = lab[COL_CONDITION].astype(str).to_numpy()
    df = df[~df["compartment"].isin([UNASSIGNED, "nan"])]
    keys = ["compartment", "patient", "sample", "condition"]
    g = df.groupby(keys, sort=True, observed=True)
    return g.size().rename("n_cells").to_frame().join(g[list(values.columns)].mean()).reset_index()


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


def compare_samples(
    samples: pd.DataFrame,
    value: str,
    *,
    contrast: Contrast,
    min_cells: int = 10,
    min_units: int = 3,
    alpha: float = 0.05,
    roster: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Compare one value between two conditions, every usable patient in (see module doc).

    Parameters
    ----------
    samples
        Rows of :func:`sample_means` for one compartment.
    value
        The column compared.
    contrast
        The two conditions.
    min_cells
        Samples with fewer cells in the compartment are left out.
    min_units
        Minimum patients per condition (pairs for the paired test).
    alpha
        Intervals are ``1 − alpha``.
    roster
        ``patient``, ``condition`` of every patient sampled (to name those without cells
        here); by default the patients of ``samples``.

    Returns
    -------
    dict
        The fields of :func:`compare_units` plus ``n_samples`` and ``method``.
    """
    conds = (contrast.reference, contrast.test)
    sub = samples[samples["condition"].isin(conds) & samples[value].notna()]
    kept = sub[sub["n_cells"] >= min_cells]
    dropped = _dropped_note(sub, kept, roster, conds, min_cells)
    pm = kept.groupby(["condition", "patient"], sort=True)[value].mean()
    ref = pm.get(contrast.reference, pd.Series(dtype=float))
    test = pm.get(contrast.test, pd.Series(dtype=float))
    both = ref.index.intersection(test.index)
    if len(both) and len(both) < max(len(ref), len(test)):
        res = _mixed(kept, value, ref, test, contrast=contrast, min_units=min_units, alpha=alpha)
    elif len(both) and len(both) < min_units:
        res = compare_units(ref.iloc[0:0], test.iloc[0:0], min_units=min_units, alpha=alpha)
        res.update(n_ref=len(ref), n_test=len(test), n_pairs=len(both))
        res.update(mean_ref=ref.mean(), mean_test=test.mean(), effect=(test - ref).mean())
        res["note"] = f"fewer than {min_units} patients in both conditions ({len(both)}): no test"
    else:
        res = compare_units(ref, test, min_units=min_units, alpha=alpha)
        res.update(n_samples=len(kept), method=_METHOD[res["design"]])
    res["n_samples"] = int(res.get("n_samples", len(kept)))
    res.setdefault("method", METHOD_NONE)
    res["note"] = "; ".join(x for x in (dropped, res["note"]) if x)
    keys = ["n_ref", "n_test", "n_pairs", "n_samples", "mean_ref", "mean_test", "effect"]
    keys += ["ci_low", "ci_high", "std_effect", "p", "note", "design", "method"]
    return {k: res[k] for k in keys}


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def _dropped_note(
    sub: pd.DataFrame,
    kept: pd.DataFrame,
    roster: pd.DataFrame | None,
    conds: tuple[str, ...],
    min_cells: int,
) -> str:
    """Patients (and samples) left out for too few or no cells, named with their condition."""
    parts = []
    small = sub[sub["n_cells"] < min_cells]
    kept_pc = set(zip(kept["patient"], kept["condition"], strict=True))
    small_pc = set(zip(small["patient"], small["condition"], strict=True)) - kept_pc
    if small_pc:
        parts.append(f"left out, fewer than {min_cells} cells: {_by_patient(small_pc)}")
    pc = zip(small["patient"], small["condition"], strict=True)
    lone = small[[x in kept_pc for x in pc]]
    if len(lone):
        named = (f"{s} of {p}" for s, p in zip(lone["sample"], lone["patient"], strict=True))
        parts.append(f"samples left out, fewer than {min_cells} cells: {_names(named)}")
    if roster is not None:
        r = roster[roster["condition"].isin(conds)]
        seen = set(zip(sub["patient"], sub["condition"], strict=True))
        none = set(zip(r["patient"], r["condition"], strict=True)) - seen
        if none:
            parts.append(f"no cells here: {_by_patient(none)}")
    return "; ".join(parts)


def _by_patient(pairs: set[tuple[str, str]]) -> str:
    """``P1 (R), P2 (NR, R)`` from (patient, condition) pairs."""
    out: dict[str, list[str]] = {}
    for p, c in pairs:
        out.setdefault(p, []).append(c)
    return ", ".join(f"{p} ({', '.join(sorted(c))})" for p, c in sorted(out.items()))


def _mixed(
    kept: pd.DataFrame,
    value: str,
    ref: pd.Series,
    test: pd.Series,
    *,
    contrast: Contrast,
    min_units: int,
    alpha: float,
) -> dict[str, Any]:
    """Mixed design: the mixed model, or the exact fallback when it fails."""
    both = ref.index.intersection(test.index)
    if len(ref) < min_units or len(test) < min_units:
        res = compare_units(ref.drop(both), test.drop(both), min_units=min_units, alpha=alpha)
        res.update(n_ref=len(ref), n_test=len(test), n_pairs=len(both), design="insufficient")
        res.update(mean_ref=ref.mean(), mean_test=test.mean(), effect=test.mean() - ref.mean())
        res.update(p=np.nan, ci_low=np.nan, ci_high=np.nan, std_effect=np.nan)
        res["note"] = (
            f"fewer than {min_units} patients per condition ({len(ref)} vs {len(test)}): no test"
        )
        return res
    fit = mixed_model(
        kept[value], patient=kept["patient"], is_test=kept["condition"] == contrast.test,
        alpha=alpha,
    )  # fmt: skip
    if not fit.failed:
        return {
            "n_ref": len(ref), "n_test": len(test), "n_pairs": len(both),
            "n_samples": len(kept), "mean_ref": float(ref.mean()),
            "mean_test": float(test.mean()), "effect": fit.effect, "ci_low": fit.ci_low,
            "ci_high": fit.ci_high, "std_effect": fit.std_effect, "p": fit.p,
            "note": fit.note, "design": "mixed", "method": METHOD_MIXED,
        }  # fmt: skip
    return _fallback(kept, ref, test, fit.failed, min_units=min_units, alpha=alpha)


def _fallback(
    kept: pd.DataFrame,
    ref: pd.Series,
    test: pd.Series,
    reason: str,
    *,
    min_units: int,
    alpha: float,
) -> dict[str, Any]:
    """The exact test on the patients it can use, after a failed mixed model."""
    both = ref.index.intersection(test.index)
    if len(both) >= min_units:
        res = compare_units(ref.loc[both], test.loc[both], min_units=min_units, alpha=alpha)
        only = [f"{p} ({'reference' if p in ref.index else 'test'} only)" for p in
                sorted(set(ref.index) ^ set(test.index))]  # fmt: skip
        left = f"left out (in one condition only): {', '.join(only)}"
        users = set(both)
    else:
        res = compare_units(ref.drop(both), test.drop(both), min_units=min_units, alpha=alpha)
        left = f"left out (in both conditions, too few pairs): {_names(both)}"
        users = set(ref.index) ^ set(test.index)
    head = f"mixed model failed ({reason}); {_METHOD[res['design']]} instead; {left}"
    res["note"] = "; ".join(x for x in (head, res["note"]) if x)
    res.update(
        n_samples=int(kept["patient"].isin(users).sum()),
        method=_METHOD[res["design"]],
    )
    return res
