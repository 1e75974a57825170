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

__all__ = [
    "calibrate_flags",
    "compartment_summary",
    "driver_genes",
    "fdr_by_family",
    "flag_compartments",
    "group_profiles",
    "null_calibration",
]


def fdr_by_family(table: pd.DataFrame) -> np.ndarray:
    """Benjamini–Hochberg adjusted ``p`` within each ``family`` (rows without p stay NaN)."""
    fdr = np.full(len(table), np.nan)
    p = table["p"].to_numpy(dtype=float)
    for fam in pd.unique(table["family"]):
        tested = ~np.isnan(p) & (table["family"] == fam).to_numpy()
        if tested.any():
            fdr[tested] = multipletests(p[tested], method="fdr_bh")[1]
    return fdr


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
    out["fdr"] = fdr_by_family(out)
    out["flagged"] = (
        out["applies"] & (out["fdr"] <= alpha) & (out["resistance_effect"] >= min_effect)
    ).astype(bool)
    cols = [
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
    return out[cols].sort_values(["set", "compartment"]).reset_index(drop=True)


# ------------------------------------------------------------------ null calibration


def _within_sample_contrasts(
    means: pd.DataFrame, n_cells: pd.Series, *, min_cells: int
) -> dict[str, pd.DataFrame]:
    """Per compartment: samples × columns of (compartment mean − mean of the other cells).

    ``means`` has a (compartment, sample) MultiIndex and any columns (sets, null sets,
    genes); ``n_cells`` the cells of each group. The other compartments of a sample are
    weighted by their cells, so the contrast equals the cell-level difference of means.
    Only samples with at least ``min_cells`` cells inside and outside are kept.
    """
    comp = means.index.get_level_values(0).astype(str)
    smp = means.index.get_level_values(1).astype(str)
    n = n_cells.reindex(means.index).to_numpy(dtype=float)
    values = means.to_numpy(dtype=float)
    out: dict[str, pd.DataFrame] = {}
    for c in sorted(set(comp) - {UNASSIGNED}):
        rows, labels = [], []
        for s in sorted(set(smp)):
            inside = np.flatnonzero((comp == c) & (smp == s))
            outside = np.flatnonzero((comp != c) & (comp != UNASSIGNED) & (smp == s))
            n_in, n_out = n[inside].sum(), n[outside].sum()
            if len(inside) == 0 or n_in < min_cells or n_out < min_cells:
                continue
            m_in = (values[inside] * n[inside, None]).sum(axis=0) / n_in
            m_out = (values[outside] * n[outside, None]).sum(axis=0) / n_out
            rows.append(m_in - m_out)
            labels.append(s)
        out[c] = pd.DataFrame(
            np.vstack(rows) if rows else np.empty((0, means.shape[1])),
            index=labels,
            columns=means.columns,
        )
    return out


def null_calibration(
    null_means,
    sets: Sequence[GeneSet],
    *,
    min_cells: int = 10,
) -> pd.DataFrame:
    """Empirical p-values of each compartment × set against expression-matched random sets.

    For every sample, the within-sample contrast of the compartment (its mean score minus
    that of the sample's other assigned cells) is computed for the set and for each of its
    null sets (same size, same expression bins, see :func:`tmesig.score.null_group_means`),
    and standardised by the mean and SD of the null contrasts of that sample:
    ``z = (d - mean(d_null)) / sd(d_null)``. The statistic is the mean of ``z`` over samples
    (samples weigh equally); each null set gets the same statistic, and the one-sided
    empirical p-value is ``(1 + #{null at least as extreme}) / (1 + n_null)``, in the
    direction that means resistance. A set whose genes are merely highly expressed, or
    that shares its compartment's identity program with random genes of the same
    expression, is therefore not called.

    Parameters
    ----------
    null_means
        :class:`tmesig.score.NullGroupMeans` with groups = (compartment, sample).
    sets
        The sets (for their direction).
    min_cells
        Minimum cells inside and outside the compartment in a sample.

    Returns
    -------
    DataFrame
        ``compartment``, ``set``, ``null_z`` (mean standardised deviation from the null,
        signed so that positive is towards resistance), ``p_null``, ``n_null``.
    """
    direction = {gs.name: gs.direction for gs in sets}
    obs, nul = null_means.observed, null_means.null
    joined = pd.concat([obs, nul.set_axis([f"{a}\t{b}" for a, b in nul.columns], axis=1)], axis=1)
    contrasts = _within_sample_contrasts(joined, null_means.n_cells, min_cells=min_cells)
    rows = []
    for comp, d in contrasts.items():
        if d.empty:
            continue
        for name in obs.columns:
            sign = -1.0 if direction.get(name, "up") == "down" else 1.0
            d_obs = sign * d[name].to_numpy()
            null_cols = [c for c in d.columns if isinstance(c, str) and c.startswith(f"{name}\t")]
            d_null = sign * d[null_cols].to_numpy()  # samples × n_null
            mu = d_null.mean(axis=1, keepdims=True)
            sd = d_null.std(axis=1, ddof=1, keepdims=True)
            sd = np.where(sd > 0, sd, np.nan)
            t_obs = float(np.nanmean((d_obs[:, None] - mu) / sd))
            t_null = np.nanmean((d_null - mu) / sd, axis=0)
            p = (
                (1.0 + np.sum(t_null >= t_obs)) / (1.0 + len(t_null))
                if np.isfinite(t_obs)
                else np.nan
            )
            rows.append(
                {
                    "compartment": comp,
                    "set": name,
                    "null_z": t_obs,
                    "p_null": p,
                    "n_null": len(null_cols),
                }
            )
    return pd.DataFrame(rows, columns=["compartment", "set", "null_z", "p_null", "n_null"])


def driver_genes(
    profiles: pd.DataFrame,
    n_cells: pd.Series,
    sets: Sequence[GeneSet],
    *,
    min_cells: int = 10,
    top: int = 5,
) -> pd.DataFrame:
    """The genes of each set that drive a compartment's contrast.

    ``profiles`` holds the mean log expression of each (compartment, sample) group for the
    sets' genes. A gene's contribution is its within-sample contrast (compartment minus the
    other cells of the sample, averaged over samples) divided by the number of the set's
    genes found, so that contributions add up to the set's mean-expression contrast; the
    ``top`` genes in the direction of resistance are listed.

    Returns
    -------
    DataFrame
        ``compartment``, ``set``, ``top_genes`` (``GENE:contribution`` comma-separated).
    """
    contrasts = _within_sample_contrasts(profiles, n_cells, min_cells=min_cells)
    rows = []
    for comp, d in contrasts.items():
        mean = d.mean(axis=0) if len(d) else pd.Series(dtype=float)
        for gs in sets:
            genes = [g for g in gs.genes if g in mean.index]
            if not genes:
                continue
            sign = -1.0 if gs.direction == "down" else 1.0
            contrib = (mean[genes] / len(genes)).sort_values(ascending=sign < 0, kind="stable")
            best = contrib.head(top)
            rows.append(
                {
                    "compartment": comp,
                    "set": gs.name,
                    "top_genes": ",".join(f"{g}:{v:+.3f}" for g, v in best.items()),
                }
            )
    return pd.DataFrame(rows, columns=["compartment", "set", "top_genes"])


def group_profiles(
    adata, genes: Sequence[str], *, groups: pd.DataFrame, chunk_size: int = 50_000
) -> tuple[pd.DataFrame, pd.Series]:
    """Mean expression of ``genes`` per group of cells (rows of ``groups``), reading in chunks.

    Works on in-memory and backed AnnData; only the requested gene columns are kept.
    Cells whose group has a missing label are skipped.
    """
    import scipy.sparse as sp

    genes = [g for g in dict.fromkeys(genes) if g in adata.var_names]
    cols = adata.var_names.get_indexer(genes)
    keys = pd.MultiIndex.from_frame(groups.astype(str).reset_index(drop=True))
    codes, uniques = pd.factorize(keys)
    sums = np.zeros((len(uniques), len(genes)))
    for start in range(0, adata.n_obs, chunk_size):
        stop = min(start + chunk_size, adata.n_obs)
        block = adata.X[start:stop]
        block = sp.csr_matrix(block)[:, cols]
        c = codes[start:stop]
        ok = c >= 0
        ind = sp.csr_matrix(
            (np.ones(ok.sum()), (c[ok], np.flatnonzero(ok))), shape=(len(uniques), stop - start)
        )
        sums += np.asarray((ind @ block).todense())
    n = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(float)
    index = pd.MultiIndex.from_tuples(list(uniques), names=list(groups.columns))
    prof = pd.DataFrame(sums / np.maximum(n, 1)[:, None], index=index, columns=genes)
    return prof, pd.Series(n, index=index, name="n_cells")


def calibrate_flags(
    flags: pd.DataFrame,
    calibration: pd.DataFrame,
    drivers: pd.DataFrame | None = None,
    *,
    alpha: float = 0.05,
    min_effect: float = 0.5,
) -> pd.DataFrame:
    """Combine the sample-level test with the null calibration and recompute FDR and flags.

    The p-value of a row becomes ``max(p_samples, p_null)``: a flag needs the program to
    be higher (or lower, for ``down`` sets) in the compartment than in the other cells of
    the same samples, consistently over samples, *and* more so than expression-matched
    random gene sets (an intersection–union test, valid at the nominal level). Rows with
    fewer than the minimum samples keep ``p`` empty. FDR is recomputed per family.
    """
    out = flags.rename(columns={"p": "p_samples"}).merge(
        calibration, on=["compartment", "set"], how="left"
    )
    if drivers is not None:
        out = out.merge(drivers, on=["compartment", "set"], how="left")
    out["p"] = np.where(out["p_samples"].notna(), np.fmax(out["p_samples"], out["p_null"]), np.nan)
    out["fdr"] = fdr_by_family(out)
    out["flagged"] = (
        (
            out["applies"]
            & (out["fdr"] <= alpha)
            & (out["resistance_effect"] >= min_effect)
            & (out["null_z"] > 0)
        )
        .fillna(False)
        .astype(bool)
    )
    cols = [
        "compartment",
        "set",
        "direction",
        "applies",
        "family",
        "n_samples",
        "n_cells",
        "mean_in",
        "mean_out",
        "effect",
        "effect_sd",
        "resistance_effect",
        "null_z",
        "p_samples",
        "p_null",
        "n_null",
        "p",
        "fdr",
        "flagged",
        "top_genes",
        "note",
    ]
    if "top_genes" not in out.columns:
        out["top_genes"] = ""
    return out[cols].sort_values(["set", "compartment"]).reset_index(drop=True)
