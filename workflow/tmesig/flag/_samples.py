"""The sample-level test: per-sample contrasts of a compartment against the other cells."""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..constants import ANY, COL_COMPARTMENT, COL_SAMPLE, UNASSIGNED, direction_sign
from ..signatures import GeneSet
from ..stats import fdr_by_family

#: Columns of :func:`flag_compartments`, in order.
_COLUMNS = [
    "compartment",
    "set",
    "direction",
    "applies",
    "n_samples",
    "n_cells",
    "mean_in",
    "mean_out",
    "effect",
    "effect_sd",
    "resistance_effect",
    "family",
    "p",
    "fdr",
    "flagged",
    "note",
]


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
    df[COL_COMPARTMENT] = compartment.reindex(scores.index).astype(str).to_numpy()
    df[COL_SAMPLE] = unit.reindex(scores.index).astype(str).to_numpy()
    grouped = df.groupby([COL_COMPARTMENT, COL_SAMPLE], sort=True, observed=True)
    means = grouped[list(scores.columns)].mean()
    out = grouped.size().rename("n_cells").to_frame().join(means).reset_index()
    return out


def _sample_sums(df: pd.DataFrame) -> tuple[dict, list]:
    """Score sums and cell counts per (sample, compartment), and per sample in sample order."""
    keys = ["sample", "comp"]
    by_comp = df.groupby(keys, sort=True, observed=True)["score"].agg(["sum", "count"])
    by_sample = df.groupby("sample", sort=True, observed=True)["score"].agg(["sum", "count"])
    pairs = dict(zip(by_comp.index, by_comp.itertuples(index=False, name=None), strict=True))
    rows = by_sample.itertuples(index=False, name=None)
    return pairs, list(zip(by_sample.index, rows, strict=True))


def _per_sample(
    sums: tuple[dict, list], comp: str, *, min_cells: int
) -> tuple[list[float], list[float], list[float]]:
    """Per contributing sample: (inside − outside, inside mean, outside mean) of ``comp``,
    from :func:`_sample_sums` (the outside = the sample's other cells)."""
    by_comp, by_sample = sums
    diffs, ins, outs = [], [], []
    for smp, (total, n_total) in by_sample:
        if (smp, comp) not in by_comp:
            continue
        s_in, n_in = by_comp[(smp, comp)]
        n_out = n_total - n_in
        if n_in >= min_cells and n_out >= min_cells:
            ins.append(s_in / n_in)
            outs.append((total - s_in) / n_out)
            diffs.append(ins[-1] - outs[-1])
    return diffs, ins, outs


def _sample_test(
    diffs: list[float], sign: float, *, min_cells: int, min_samples: int, alone: bool = False
) -> tuple[float, str]:
    """One-sided one-sample t-test of the signed differences (or why there is none);
    ``alone``: the compartment is the only one with assigned cells."""
    n = len(diffs)
    p, note = np.nan, ""
    if n >= min_samples:
        d = sign * np.asarray(diffs)
        if np.allclose(d, d[0]):
            note = "per-sample differences are identical: no test"
        else:
            p = float(stats.ttest_1samp(d, 0.0, alternative="greater").pvalue)
    elif n == 0 and alone:
        note = (
            "the only compartment with assigned cells: a flag contrasts a compartment with the "
            "other compartments of the same samples, so there is nothing to contrast"
        )
    elif n == 0:
        note = (
            f"no sample has >= {min_cells} cells both in this compartment and in the other "
            "compartments"
        )
    else:
        note = f"only {n} sample(s) with >= {min_cells} cells: effect shown, no test"
    return p, note


def _set_rows(
    df: pd.DataFrame, gs: GeneSet, comps: list[str], *, min_cells: int, min_samples: int
) -> list[dict]:
    """One row per compartment for one set (``df``: assigned cells' score, comp, sample)."""
    sign = direction_sign(gs.direction)
    s = df["score"]
    sd = float(s.std(ddof=1)) if len(s) > 1 else np.nan
    rows = []
    sums = _sample_sums(df)
    n_by_comp = df["comp"].value_counts()
    for c in comps:
        n_cells = int(n_by_comp.get(c, 0))
        diffs, ins, outs = _per_sample(sums, c, min_cells=min_cells)
        n = len(diffs)
        effect = float(np.mean(diffs)) if n else np.nan
        eff_sd = effect / sd if n and sd and sd > 0 else np.nan
        p, note = _sample_test(
            diffs, sign, min_cells=min_cells, min_samples=min_samples, alone=len(comps) == 1
        )
        rows.append(
            {
                "compartment": c,
                "set": gs.name,
                "direction": gs.direction,
                "applies": (ANY in gs.compartments) or (c in gs.compartments),
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
    return rows


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
        s = scores.loc[assigned, set_name].astype(np.float64)
        df = pd.DataFrame({"score": s, "comp": comp[assigned], "sample": smp[assigned]})
        rows += _set_rows(
            df, by_name[set_name], comps, min_cells=min_cells, min_samples=min_samples
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out.assign(family=[], fdr=[], flagged=[])
    out["family"] = np.where(out["applies"], "primary", "exploratory")
    out["fdr"] = fdr_by_family(out)
    out["flagged"] = (
        out["applies"] & (out["fdr"] <= alpha) & (out["resistance_effect"] >= min_effect)
    ).astype(bool)
    return out[_COLUMNS].sort_values(["set", "compartment"]).reset_index(drop=True)
