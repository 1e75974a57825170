"""Composition: the share of each compartment per patient, compared between conditions.

For every patient × condition the fraction of assigned cells in each compartment is
computed; fractions are logit-transformed with a pseudocount of half a cell
(``logit((k + 0.5) / (n + 1))``) and the two conditions are compared with patients as the
unit, paired when the same patients were sampled in both (see
:func:`tmesig.conditions.compare_units`). The effect is the difference in logit fraction
(a log odds ratio) with its confidence interval; the table also gives the mean fractions.
"""

import numpy as np
import pandas as pd

from .conditions import Contrast, compare_units
from .constants import UNASSIGNED
from .stats import fdr_by_family

__all__ = ["compare_composition", "composition_table"]


def composition_table(
    *, compartment: pd.Series, patient: pd.Series, condition: pd.Series
) -> pd.DataFrame:
    """Cells and fraction per patient × condition × compartment (unassigned cells left out).

    Every compartment seen in the data gets a row for every patient × condition (with zero
    cells where absent), so that absence counts as a fraction of zero.

    Parameters
    ----------
    compartment, patient, condition
        Per-cell labels (``patient`` and ``condition`` reindexed to ``compartment``).

    Returns
    -------
    DataFrame
        ``patient``, ``condition``, ``compartment``, ``n_cells``, ``n_total``, ``fraction``
        and ``logit`` (``log((k + 0.5) / (n - k + 0.5))``), sorted by compartment,
        condition and patient.
    """
    df = pd.DataFrame(
        {
            "compartment": compartment.astype(str).to_numpy(),
            "patient": patient.reindex(compartment.index).astype(str).to_numpy(),
            "condition": condition.reindex(compartment.index).astype(str).to_numpy(),
        }
    )
    df = df[df["compartment"] != UNASSIGNED]
    counts = (
        df.groupby(["patient", "condition", "compartment"], observed=True)
        .size()
        .unstack(fill_value=0)
    )
    totals = counts.sum(axis=1)
    long = counts.stack().rename("n_cells").reset_index()
    long["n_total"] = long.set_index(["patient", "condition"]).index.map(totals).to_numpy()
    long["fraction"] = long["n_cells"] / long["n_total"]
    long["logit"] = np.log((long["n_cells"] + 0.5) / (long["n_total"] - long["n_cells"] + 0.5))
    return long.sort_values(["compartment", "condition", "patient"]).reset_index(drop=True)


def compare_composition(
    table: pd.DataFrame, *, contrast: Contrast, min_patients: int = 3, alpha: float = 0.05
) -> pd.DataFrame:
    """Compare each compartment's logit fraction between two conditions.

    Parameters
    ----------
    table
        Output of :func:`composition_table`.
    contrast
        The two conditions.
    min_patients
        Minimum patients per condition (or pairs) for a test.
    alpha
        ``1 - alpha`` confidence intervals; FDR level for ``significant``.

    Returns
    -------
    DataFrame
        One row per compartment: ``compartment``, ``reference``, ``test``,
        ``fraction_ref``, ``fraction_test`` (means over patients), the fields of
        :func:`tmesig.conditions.compare_units` on the logit scale, ``fdr``, ``significant``.
    """
    rows = []
    for comp, sub in table.groupby("compartment", sort=True):
        r = sub[sub["condition"] == contrast.reference].set_index("patient")
        t = sub[sub["condition"] == contrast.test].set_index("patient")
        res = compare_units(r["logit"], t["logit"], min_units=min_patients, alpha=alpha)
        rows.append(
            {
                "compartment": comp,
                "reference": contrast.reference,
                "test": contrast.test,
                "fraction_ref": float(r["fraction"].mean()) if len(r) else np.nan,
                "fraction_test": float(t["fraction"].mean()) if len(t) else np.nan,
                **res,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["fdr"] = fdr_by_family(out.assign(family="all"))  # one family: every compartment
    out["significant"] = (out["fdr"] <= alpha).fillna(False).astype(bool)
    return out
