"""Calibration against expression-matched random sets, driver genes, and the final flags."""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..constants import UNASSIGNED, direction_sign
from ..score import NullGroupMeans
from ..signatures import GeneSet
from ..stats import empirical_p, fdr_by_family

#: Columns of :func:`calibrate_flags`, in order.
_COLUMNS = [
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


def _null_z(d: pd.DataFrame, name: str, sign: float) -> tuple[float, float, int]:
    """Mean standardised deviation of a set from its nulls, its empirical p, and n_null."""
    d_obs = sign * d[name].to_numpy()
    null_cols = [c for c in d.columns if isinstance(c, str) and c.startswith(f"{name}\t")]
    d_null = sign * d[null_cols].to_numpy()  # samples × n_null
    mu = d_null.mean(axis=1, keepdims=True)
    sd = d_null.std(axis=1, ddof=1, keepdims=True)
    sd = np.where(sd > 0, sd, np.nan)
    t_obs = float(np.nanmean((d_obs[:, None] - mu) / sd))
    t_null = np.nanmean((d_null - mu) / sd, axis=0)
    p = float(empirical_p(np.sum(t_null >= t_obs), len(t_null))) if np.isfinite(t_obs) else np.nan
    return t_obs, p, len(null_cols)


def null_calibration(
    null_means: NullGroupMeans,
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
    empirical p-value is ``(1 + #{null at least as extreme}) / (1 + n_null)``
    (:func:`tmesig.stats.empirical_p`), in the direction that means resistance. A set whose
    genes are merely highly expressed, or that shares its compartment's identity program
    with random genes of the same expression, is therefore not called.

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
            sign = direction_sign(direction.get(name, "up"))
            t_obs, p, n_null = _null_z(d, name, sign)
            rows.append(
                {"compartment": comp, "set": name, "null_z": t_obs, "p_null": p, "n_null": n_null}
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
    sets' genes (e.g. :attr:`tmesig.score.NullGroupMeans.profile`, with its ``n_cells``).
    A gene's contribution is its within-sample contrast (compartment minus the other cells
    of the sample, averaged over samples) divided by the number of the set's genes found,
    so that contributions add up to the set's mean-expression contrast; the ``top`` genes
    in the direction of resistance are listed.

    Parameters
    ----------
    profiles
        Groups × genes mean expression, with a (compartment, sample) MultiIndex.
    n_cells
        Cells of each group.
    sets
        The gene sets (their genes and direction).
    min_cells
        Minimum cells inside and outside the compartment in a sample.
    top
        Genes listed per compartment × set.

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
            sign = direction_sign(gs.direction)
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


def calibrate_flags(
    flags: pd.DataFrame,
    calibration: pd.DataFrame,
    *,
    drivers: pd.DataFrame | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.5,
) -> pd.DataFrame:
    """Combine the sample-level test with the null calibration and recompute FDR and flags.

    The p-value of a row becomes ``max(p_samples, p_null)``: a flag needs the program to
    be higher (or lower, for ``down`` sets) in the compartment than in the other cells of
    the same samples, consistently over samples, *and* more so than expression-matched
    random gene sets (an intersection–union test, valid at the nominal level). Rows with
    fewer than the minimum samples keep ``p`` empty. FDR is recomputed per family.

    Parameters
    ----------
    flags
        :func:`flag_compartments`.
    calibration
        :func:`null_calibration`.
    drivers
        :func:`driver_genes` (optional: ``top_genes`` is empty without it).
    alpha, min_effect
        As in :func:`flag_compartments`; a flag also needs ``null_z > 0``.

    Returns
    -------
    DataFrame
        The rows of ``flags`` with ``null_z``, ``p_samples`` (the t-test), ``p_null``,
        ``n_null``, ``p``, ``fdr``, ``flagged`` and ``top_genes``.
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
    if "top_genes" not in out.columns:
        out["top_genes"] = ""
    return out[_COLUMNS].sort_values(["set", "compartment"]).reset_index(drop=True)
