"""Flagging: which compartments carry a resistance program, with samples as the unit.

For every compartment × gene set the per-sample difference between the compartment's
mean score and the mean score of all other assigned cells of the same sample is computed
(a paired, within-sample contrast). Its mean over samples, in units of the set's
per-cell standard deviation, is the effect. With at least three samples a one-sided
one-sample t-test over the per-sample differences gives a p-value in the direction that
means resistance (high for ``up`` sets, low for ``down`` sets). Cells are never the unit of
a test.

Two families of tests are adjusted separately by Benjamini–Hochberg: the *primary* family
holds the pre-specified hypotheses (each set in the compartments its provenance says it
applies to), the *exploratory* family everything else. Only primary tests can be flagged;
exploratory rows are reported so that nothing is hidden.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .annotate import UNASSIGNED
from .signatures import GeneSet

__all__ = ["compartment_summary", "flag_compartments"]


def compartment_summary(
    scores: pd.DataFrame, *, compartment: pd.Series, unit: pd.Series
) -> pd.DataFrame:
    """Pseudobulk of scores: one row per compartment × unit (sample or patient).

    Parameters
    ----------
    scores
        Cells × sets.
    compartment
        Compartment of each cell (index aligned with ``scores``).
    unit
        Sample (or patient) of each cell.

    Returns
    -------
    DataFrame
        Columns ``compartment``, ``sample``, ``n_cells`` and the mean score of each set.
    """
    df = scores.copy()
    df["compartment"] = compartment.reindex(scores.index).astype(str).to_numpy()
    df["sample"] = unit.reindex(scores.index).astype(str).to_numpy()
    grouped = df.groupby(["compartment", "sample"], sort=True, observed=True)
    means = grouped[list(scores.columns)].mean()
    out = grouped.size().rename("n_cells").to_frame().join(means).reset_index()
    return out


def flag_compartments(
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    compartment: pd.Series,
    unit: pd.Series,
    min_cells: int = 10,
    min_samples: int = 3,
    alpha: float = 0.05,
    min_effect: float = 0.5,
) -> pd.DataFrame:
    """Test every compartment × scored set against the other compartments.

    Parameters
    ----------
    scores
        Cells × sets (only scored sets; sets absent from ``scores`` are skipped).
    sets
        The gene sets, for their direction and the compartments they apply to.
    compartment, unit
        Compartment and sample (or patient) of each cell.
    min_cells
        A sample contributes to a compartment's test only when it has at least this many
        cells in the compartment and in the other compartments.
    min_samples
        Fewer contributing samples: the effect is reported, no p-value.
    alpha
        FDR level for ``flagged``.
    min_effect
        Minimum standardised effect, in the resistance direction, for ``flagged``.

    Returns
    -------
    DataFrame
        One row per compartment × set: ``compartment``, ``set``, ``direction``,
        ``applies`` (the set is meant for this compartment), ``n_samples``, ``n_cells``,
        ``mean_in``, ``mean_out``, ``effect`` (mean per-sample difference),
        ``effect_sd`` (``effect`` / per-cell SD of the set), ``resistance_effect``
        (``effect_sd`` signed so that positive means towards resistance), ``family``
        (``primary`` where ``applies``, else ``exploratory``), ``p``, ``fdr`` (BH within the
        family), ``flagged`` and ``note``.
    """
    comp = compartment.reindex(scores.index).astype(str)
    smp = unit.reindex(scores.index).astype(str)
    assigned = comp != UNASSIGNED
    comps = sorted(set(comp[assigned]))
    by_name = {gs.name: gs for gs in sets}
    rows = []
    for set_name in scores.columns:
        gs = by_name[set_name]
        sign = 1.0 if gs.direction == "up" else -1.0
        s = scores.loc[assigned, set_name].astype(np.float64)
        sd = float(s.std(ddof=1)) if len(s) > 1 else np.nan
        df = pd.DataFrame({"score": s, "comp": comp[assigned], "sample": smp[assigned]})
        for c in comps:
            diffs, ins, outs, n_cells = [], [], [], int((df["comp"] == c).sum())
            for _, sub in df.groupby("sample", sort=True, observed=True):
                inside = sub.loc[sub["comp"] == c, "score"]
                outside = sub.loc[sub["comp"] != c, "score"]
                if len(inside) >= min_cells and len(outside) >= min_cells:
                    ins.append(inside.mean())
                    outs.append(outside.mean())
                    diffs.append(inside.mean() - outside.mean())
            n = len(diffs)
            effect = float(np.mean(diffs)) if n else np.nan
            eff_sd = effect / sd if n and sd and sd > 0 else np.nan
            p, note = np.nan, ""
            if n >= min_samples:
                d = sign * np.asarray(diffs)
                if np.allclose(d, d[0]):
                    note = "per-sample differences are identical: no test"
                else:
                    p = float(stats.ttest_1samp(d, 0.0, alternative="greater").pvalue)
            elif n == 0:
                note = f"no sample has >= {min_cells} cells in this compartment"
            else:
                note = f"only {n} sample(s) with >= {min_cells} cells: effect shown, no test"
            rows.append(
                {
                    "compartment": c,
                    "set": set_name,
                    "direction": gs.direction,
                    "applies": ("any" in gs.compartments) or (c in gs.compartments),
                    "n_samples": n,
                    "n_cells": n_cells,
                    "mean_in": float(np.mean(ins)) if n else np.nan,
                    "mean_out": float(np.mean(outs)) if n else np.nan,
                    "effect": effect,
                    "effect_sd": eff_sd,
                    "resistance_effect": sign * eff_sd if n else np.nan,
                    "p": p,
                    "note": note,
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return out.assign(family=[], fdr=[], flagged=[])
    out["family"] = np.where(out["applies"], "primary", "exploratory")
    out["fdr"] = np.nan
    for fam in ("primary", "exploratory"):
        tested = (out["p"].notna() & (out["family"] == fam)).to_numpy()
        if tested.any():
            out.loc[tested, "fdr"] = multipletests(out.loc[tested, "p"], method="fdr_bh")[1]
    out["flagged"] = (
        out["applies"] & (out["fdr"] <= alpha) & (out["resistance_effect"] >= min_effect)
    ).astype(bool)
    cols = [
        "compartment", "set", "direction", "applies", "n_samples", "n_cells", "mean_in",
        "mean_out", "effect", "effect_sd", "resistance_effect", "family", "p", "fdr", "flagged",
        "note",
    ]
    return out[cols].sort_values(["set", "compartment"]).reset_index(drop=True)
