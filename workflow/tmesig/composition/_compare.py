"""propeller-style comparison of shares between two conditions, patients as the unit."""

from typing import Any

import numpy as np
import pandas as pd

from ..conditions import Contrast, compare_units
from ..constants import COL_COMPARTMENT, COL_LEVEL, COL_PARENT, COL_PATIENT, LEVEL_LINEAGE
from ..stats import fdr_by_family
from ._tables import ALL_ASSIGNED

__all__ = ["TRANSFORMS", "compare_composition", "transform_shares"]

#: Transforms of a share ``k / n`` (propeller, Phipson et al. 2022, Bioinformatics,
#: doi:10.1093/bioinformatics/btac582): ``logit`` with its pseudo-count of half a cell, or
#: ``asin`` (arcsine square root).
TRANSFORMS = ("logit", "asin")
_DESIGN_TEXT = {
    "paired": "paired t-test",
    "unpaired": "Welch t-test",
    "insufficient": "not tested",
}


def transform_shares(n_cells: np.ndarray, n_total: np.ndarray, *, transform: str = "logit"):
    """propeller's transform of the shares ``n_cells / n_total``.

    Parameters
    ----------
    n_cells, n_total
        Cells of the category and of its denominator (arrays of equal shape).
    transform
        ``logit``: ``log((k + 0.5) / (n - k + 0.5))``, i.e. ``logit((k + 0.5) / (n + 1))``,
        propeller's pseudo-count of 0.5 added to the category and to the rest of the
        denominator; ``asin``: ``arcsin(sqrt(k / n))``.

    Returns
    -------
    ndarray
        The transformed shares; NaN where ``n_total`` is 0.
    """
    if transform not in TRANSFORMS:
        msg = f"transform must be one of {TRANSFORMS}, got {transform!r}"
        raise ValueError(msg)
    k, n = np.asarray(n_cells, dtype=float), np.asarray(n_total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if transform == "logit":
            out = np.log((k + 0.5) / (n - k + 0.5))
        else:
            out = np.arcsin(np.sqrt(k / n))
    return np.where(n > 0, out, np.nan)


def _dropped(r: pd.DataFrame, t: pd.DataFrame, design: str) -> list[str]:
    """Patients the design left out (``compare_units``: unpaired patients, or pairs)."""
    both = r.index.intersection(t.index)
    if design == "paired":
        return sorted(set(r.index).symmetric_difference(t.index))
    if design in ("unpaired", "insufficient") and len(both):
        return sorted(both)
    return []


def _compare_one(
    sub: pd.DataFrame, *, contrast: Contrast, min_cells: int, opts: dict[str, Any]
) -> dict[str, Any]:
    """One category: drop patients below ``min_cells``, transform, test, name the dropped."""
    notes = []
    small = sub[sub["n_total"] < min_cells]
    if len(small):
        who = ", ".join(
            f"{p} ({c})" for p, c in zip(small[COL_PATIENT], small["condition"], strict=True)
        )
        notes.append(f"fewer than {min_cells} cells of {sub['denominator'].iloc[0]}: {who}")
    sub = sub[sub["n_total"] >= min_cells]
    r = sub[sub["condition"] == contrast.reference].set_index(COL_PATIENT)
    t = sub[sub["condition"] == contrast.test].set_index(COL_PATIENT)
    values = {
        name: pd.Series(
            transform_shares(x["n_cells"], x["n_total"], transform=opts["transform"]), x.index
        )
        for name, x in (("ref", r), ("test", t))
    }
    res = compare_units(
        values["ref"], values["test"], min_units=opts["min_patients"], alpha=opts["alpha"]
    )
    left = _dropped(r, t, res.get("design", ""))
    if left:
        notes.append(f"left out by the {res['design']} design: {', '.join(left)}")
    res["note"] = "; ".join(x for x in [res.get("note", ""), *notes] if x)
    design = _DESIGN_TEXT.get(res.get("design", ""), str(res.get("design", "")))
    res["method"] = f"propeller {opts['transform']} shares, {design}"
    return {
        "fraction_ref": float(r["fraction"].mean()) if len(r) else np.nan,
        "fraction_test": float(t["fraction"].mean()) if len(t) else np.nan,
        **res,
    }


def compare_composition(
    table: pd.DataFrame,
    *,
    contrast: Contrast,
    min_patients: int = 3,
    alpha: float = 0.05,
    min_cells: int = 1,
    transform: str = "logit",
) -> pd.DataFrame:
    """Compare each share (lineage or state) between two conditions with patients as the unit.

    propeller (Phipson et al. 2022): each patient's share is transformed
    (:func:`transform_shares`), then the two conditions are compared by a t-test on the
    transformed shares (:func:`tmesig.conditions.compare_units`: paired when at least
    ``min_patients`` patients were sampled in both conditions, e.g. every patient before and
    after treatment; else Welch on the patients seen in one condition). ``method`` says which;
    ``note`` names the patients left out and why. A category named like its denominator
    (cells of a refined subset without a confident refinement) is not tested; the only
    category of a denominator (share 1 by construction) gets a row saying so, untested.
    Benjamini–Hochberg FDR runs separately per ``level`` (lineage rows; state rows).

    Parameters
    ----------
    table
        :func:`composition_table` and/or :func:`state_composition_table` rows.
    contrast
        The two conditions.
    min_patients
        Minimum patients per condition (or pairs) for a test.
    alpha
        ``1 - alpha`` confidence intervals; FDR level for ``significant``.
    min_cells
        A patient contributes to a category only with at least this many cells of the
        denominator in that condition.
    transform
        ``logit`` or ``asin`` (:data:`TRANSFORMS`).

    Returns
    -------
    DataFrame
        One row per level × denominator × category: ``level``, ``parent``, ``denominator``,
        ``compartment``, ``reference``, ``test``, ``fraction_ref``, ``fraction_test`` (mean
        shares over the patients used), the fields of
        :func:`tmesig.conditions.compare_units` on the transformed scale (``effect``: test −
        reference), ``method``, ``fdr``, ``significant``.
    """
    if COL_LEVEL not in table.columns:  # a table from before the two levels: lineages
        table = table.assign(
            **{COL_LEVEL: LEVEL_LINEAGE, COL_PARENT: table[COL_COMPARTMENT]},
            denominator=ALL_ASSIGNED,
        )
    opts = {"min_patients": min_patients, "alpha": alpha, "transform": transform}
    keys = [COL_LEVEL, COL_PARENT, "denominator", COL_COMPARTMENT]
    n_categories = table.groupby([COL_LEVEL, "denominator"])[COL_COMPARTMENT].nunique()
    rows = []
    for key, sub in table.groupby(keys, sort=False):
        if key[3] == key[2]:
            continue
        if n_categories.loc[(key[0], key[2])] == 1:  # share 1 in every patient: nothing to compare
            res = {"fraction_ref": 1.0, "fraction_test": 1.0, "p": np.nan}
            res["note"] = f"the only category of {key[2]}: its share is 1 by construction"
            res["method"] = "not tested"
        else:
            res = _compare_one(sub, contrast=contrast, min_cells=min_cells, opts=opts)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "reference": contrast.reference,
                "test": contrast.test,
                **res,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["fdr"] = fdr_by_family(out.assign(family=out[COL_LEVEL]))
    out["significant"] = (out["fdr"] <= alpha).fillna(False).astype(bool)
    return out
