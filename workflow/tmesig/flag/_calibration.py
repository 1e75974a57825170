"""Calibration against expression-matched random sets, driver genes, and the final flags."""

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..constants import direction_sign
from ..score import NullGroupMeans
from ..signatures import GeneSet
from ..stats import empirical_p, fdr_by_family
from ._contrasts import GeneContrasts, null_set_contrasts, within_sample_contrasts
from ._sequential import SequentialOptions, SequentialTest, drawn_counts, run_sequential

#: Columns of :func:`calibrate_flags`, in order.
FLAG_COLUMNS = [
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


def _standardised(
    d: np.ndarray, obs: int, null: slice, sign: float
) -> tuple[SequentialTest, np.ndarray]:
    """The set's test (statistic, standardisation, hits) and its batch-0 null statistics
    (``d``: samples × columns; ``obs``: the set's column, ``null``: its null sets')."""
    d_obs = sign * d[:, obs]
    raw_null = d[:, null]  # samples × n_null
    mu = (sign * raw_null).mean(axis=1)
    sd = (sign * raw_null).std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, np.nan)
    test = SequentialTest(t_obs=np.nan, mu=mu, sd=sd, sign=sign, hits=0, drawn=raw_null.shape[1])
    with np.errstate(all="ignore"):
        test.t_obs = float(np.nanmean((d_obs - mu) / sd)) if len(d_obs) else np.nan
    t_null = test.statistics(raw_null)
    test.hits = int(np.sum(t_null >= test.t_obs))
    return test, t_null


def _more_contrasts(
    levels: Mapping[Hashable, NullGroupMeans], *, min_cells: int
) -> Callable[[str, int, int, list], dict[tuple, np.ndarray]]:
    """``more(set, batch, size, keys)``: within-sample contrasts of further null sets for
    the ``(level, compartment)`` keys, from one draw of the batch."""
    samplers = [m.sampler for m in levels.values()]
    if not samplers or any(s is None for s in samplers):
        msg = "null_means has no sampler: build it with tmesig.score.null_group_means."
        raise ValueError(msg)
    genes = {
        level: GeneContrasts(m.profile, m.n_cells, min_cells=min_cells)
        for level, m in levels.items()
    }

    def more(name: str, batch: int, size: int, keys: list) -> dict[tuple, np.ndarray]:
        # the levels' samplers differ in their profile only: the draws are the same
        null, ctrl, keep = samplers[0].draw(name, batch, size)
        return {
            (level, comp): null_set_contrasts(null, ctrl, keep, genes[level].genes_by_samples(comp))
            for level, comp in keys
        }

    return more


def _first_batch(
    null_means: NullGroupMeans,
    sets: Sequence[GeneSet],
    *,
    min_cells: int,
    seq: SequentialOptions,
    needed: Collection[tuple[str, str]] | None,
) -> tuple[pd.DataFrame, dict[str, dict[str, SequentialTest]]]:
    """Rows of the first ``n_null`` null sets, and ``{set: {compartment: test}}`` of the
    tests that go on drawing."""
    direction = {gs.name: gs.direction for gs in sets}
    obs, nul = null_means.observed, null_means.null
    joined = pd.concat([obs, nul.set_axis([f"{a}\t{b}" for a, b in nul.columns], axis=1)], axis=1)
    contrasts = within_sample_contrasts(joined, null_means.n_cells, min_cells=min_cells)
    owner = nul.columns.get_level_values(0)
    null_cols = {}
    for name in obs.columns:
        at = np.flatnonzero(owner == name) + obs.shape[1]
        null_cols[name] = slice(int(at[0]), int(at[-1]) + 1) if len(at) else slice(0, 0)
    rows, going = [], {}
    n_first = nul.shape[1] // max(obs.shape[1], 1)
    for comp, frame in contrasts.items():
        if frame.empty:
            continue
        d = frame.to_numpy()
        for j, name in enumerate(obs.columns):
            sign = direction_sign(direction.get(name, "up"))
            test, _ = _standardised(d, j, null_cols[name], sign)
            p = empirical_p(test.hits, test.drawn) if np.isfinite(test.t_obs) else np.nan
            row = {"compartment": comp, "set": name, "null_z": test.t_obs}
            rows.append({**row, "p_null": float(p), "n_null": test.drawn})
            wanted = needed is None or (comp, name) in needed
            if wanted and np.isfinite(p) and test.hits < seq.hits and seq.n_max > n_first:
                going.setdefault(name, {})[comp] = test
    out = pd.DataFrame(rows, columns=["compartment", "set", "null_z", "p_null", "n_null"])
    return out, going


def calibrate_levels(
    levels: Mapping[Hashable, NullGroupMeans],
    sets: Sequence[GeneSet],
    *,
    min_cells: int = 10,
    n_null_max: int | None = None,
    null_hits: int = 10,
    needed: Mapping[Hashable, Collection[tuple[str, str]] | None] | None = None,
) -> dict[Hashable, pd.DataFrame]:
    """:func:`null_calibration` of several levels (groups pooled differently from the same
    null sets), each further batch of a set drawn once for the tests of every level.

    Parameters
    ----------
    levels
        ``{level: NullGroupMeans}`` with groups = (compartment, sample) of the level, all
        from the same :func:`tmesig.score.null_group_means` call (same null sets).
    sets, min_cells, n_null_max, null_hits
        As in :func:`null_calibration`.
    needed
        ``{level: needed}`` (see :func:`null_calibration`); ``None``: all.

    Returns
    -------
    dict
        ``{level: table}``, each as :func:`null_calibration` returns it.
    """
    seq = SequentialOptions(n_max=int(n_null_max or 0), hits=int(null_hits))
    tables, going = {}, {}
    for level, means in levels.items():
        want = None if needed is None else needed.get(level)
        tables[level], level_going = _first_batch(
            means, sets, min_cells=min_cells, seq=seq, needed=want
        )
        for name, by_comp in level_going.items():
            going.setdefault(name, {}).update({(level, c): t for c, t in by_comp.items()})
    if going:
        run_sequential(going, _more_contrasts(levels, min_cells=min_cells), options=seq)
    for level in levels:
        done = {
            name: {c: t for (lv, c), t in by_key.items() if lv == level}
            for name, by_key in going.items()
        }
        if any(done.values()):
            tables[level] = _with_sequential(tables[level], done)
    return tables


def null_calibration(
    null_means: NullGroupMeans,
    sets: Sequence[GeneSet],
    *,
    min_cells: int = 10,
    n_null_max: int | None = None,
    null_hits: int = 10,
    needed: Collection[tuple[str, str]] | None = None,
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

    With ``n_null_max`` above the ``n_null`` null sets of ``null_means``, a test with fewer
    than ``null_hits`` null statistics at least as extreme goes on drawing null sets
    (:class:`tmesig.score.NullSampler`: from the per-group profile, without reading the
    matrix; standardised with the first ``n_null``) until ``null_hits`` are, ``p = hits /
    drawn``, or ``n_null_max`` are drawn, ``p = (1 + k) / (1 + n_null_max)``: Besag &
    Clifford's sequential p-value (:mod:`tmesig.flag._sequential`), exact, and as small as
    ``1 / (n_null_max + 1)``. The statistic is the mean-difference contrast whatever the
    scoring method of the cells (linear in expression, so the profile gives it exactly).

    Parameters
    ----------
    null_means
        :class:`tmesig.score.NullGroupMeans` with groups = (compartment, sample).
    sets
        The sets (for their direction).
    min_cells
        Minimum cells inside and outside the compartment in a sample.
    n_null_max
        Most null sets per test (``None`` or not above ``n_null``: no further draws).
    null_hits
        Besag–Clifford's ``h``: a test stops once this many null statistics are at least
        as extreme.
    needed
        The (compartment, set) pairs that may draw further (``None``: all); see
        :func:`tmesig.flag._sequential.needs_more`.

    Returns
    -------
    DataFrame
        ``compartment``, ``set``, ``null_z`` (mean standardised deviation from the null,
        signed so that positive is towards resistance), ``p_null``, ``n_null`` (null sets
        drawn for the row).
    """
    key = "_"
    return calibrate_levels(
        {key: null_means},
        sets,
        min_cells=min_cells,
        n_null_max=n_null_max,
        null_hits=null_hits,
        needed={key: needed},
    )[key]


def _with_sequential(out: pd.DataFrame, going: dict) -> pd.DataFrame:
    """``out`` with ``p_null`` and ``n_null`` of the tests that drew further."""
    done = drawn_counts(((c, s), t) for s, by in going.items() for c, t in by.items())
    out = out.set_index(["compartment", "set"])
    out.update(done.set_index(["compartment", "set"]))
    return out.reset_index().astype({"n_null": int})


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
    contrasts = within_sample_contrasts(profiles, n_cells, min_cells=min_cells)
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
    return out[FLAG_COLUMNS].sort_values(["set", "compartment"]).reset_index(drop=True)
