"""Sequential Monte Carlo p-values of the null calibration (Besag & Clifford 1991)."""

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from scipy import stats
from tmesig import flag, score
from tmesig.flag._sequential import (
    SequentialOptions,
    SequentialTest,
    log_resolution,
    needs_more,
)
from tmesig.signatures import GeneSet


def _gs(name, genes, direction="up", comps=("any",)):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction=direction,
        compartments=comps,
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


def _adata(seed=0, planted=True, n_genes=400):
    """Log-normalised: 3 compartments × 4 samples × 40 cells; genes G0-G9 x6 in myeloid."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(1.0, 1.0, n_genes)
    rows, comps, samples = [], [], []
    for s in range(4):
        for comp in ("T_NK", "myeloid", "epithelial"):
            lam = np.tile(base, (40, 1)) * rng.uniform(0.8, 1.2, size=(40, 1))
            if planted and comp == "myeloid":
                lam[:, :10] *= 6
            rows.append(rng.poisson(lam))
            comps += [comp] * 40
            samples += [f"s{s}"] * 40
    a = ad.AnnData(
        X=sp.csr_matrix(np.vstack(rows).astype(np.float32)),
        var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]),
    )
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a, pd.Series(comps, index=a.obs_names), pd.Series(samples, index=a.obs_names)


SETS = [_gs("UP", [f"G{i}" for i in range(10)]), _gs("DOWN", [f"G{i}" for i in range(10)], "down")]
SOPTS = score.ScoreOptions(ctrl_size=20, n_bins=10, seed=2)


@pytest.fixture(scope="module")
def planted():
    a, comp, smp = _adata()
    groups = pd.DataFrame({"compartment": comp, "sample": smp})
    return a, comp, smp, score.null_group_means(a, SETS, groups=groups, n_null=99, options=SOPTS)


def test_stopping_rule_by_hand():
    opts = SequentialOptions(n_max=20, hits=3)
    t = SequentialTest(t_obs=1.0, mu=np.zeros(1), sd=np.ones(1), sign=1.0, hits=1, drawn=5)
    t.advance(np.array([0.0, 2.0, 0.0, 1.0, 5.0]), options=opts)  # hits at draws 7 and 9
    assert (t.p, t.drawn, t.hits) == (3 / 9, 9, 3)
    t.advance(np.array([9.0]), options=opts)  # stopped: nothing changes
    assert (t.p, t.drawn) == (3 / 9, 9)
    # never h hits: every draw up to n_max, p = (k + 1) / (n_max + 1); batches cut at n_max
    u = SequentialTest(t_obs=1.0, mu=np.zeros(1), sd=np.ones(1), sign=1.0, hits=0, drawn=5)
    u.advance(np.array([0.0] * 10 + [3.0]), options=opts)
    assert u.p is None and (u.drawn, u.hits) == (16, 1)
    u.advance(np.array([0.0, 0.0, 0.0, 0.0, 7.0, 7.0]), options=opts)  # 7s beyond n_max
    assert (u.p, u.drawn, u.hits) == (2 / 21, 20, 1)
    # the batches do not change the p-value: one batch or one draw at a time
    seq = np.random.default_rng(1).normal(size=15)
    ps = []
    for chunks in ([15], [1] * 15, [4, 7, 4]):
        v = SequentialTest(t_obs=0.9, mu=np.zeros(1), sd=np.ones(1), sign=1.0, hits=0, drawn=5)
        for part in np.split(seq, np.cumsum(chunks)[:-1]):
            v.advance(part, options=opts)
        ps.append((v.p, v.drawn))
    assert ps[0] == ps[1] == ps[2]


def _sequential_p(rng, *, n0, h, n_max):
    """One test under the null: observed and nulls i.i.d.; batch 0 of n0, then the rule."""
    t_obs = rng.normal()
    first = rng.normal(size=n0)
    k0 = int((first >= t_obs).sum())
    if k0 >= h:
        return (k0 + 1) / (n0 + 1)
    t = SequentialTest(t_obs=t_obs, mu=np.zeros(1), sd=np.ones(1), sign=1.0, hits=k0, drawn=n0)
    opts = SequentialOptions(n_max=n_max, hits=h)
    while t.p is None:
        t.advance(rng.normal(size=50), options=opts)
    return t.p


def test_sequential_p_is_uniform_under_the_null():
    """Type-I error: P(p <= u) <= u at every level (binomial 3 SE), KS against U(0, 1)
    overall and in the tail that only the sequential draws reach (p < h / n0)."""
    rng = np.random.default_rng(7)
    p = np.array([_sequential_p(rng, n0=999, h=5, n_max=20_000) for _ in range(20_000)])
    for u in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.5):
        assert (p <= u).mean() <= u + 3 * np.sqrt(u * (1 - u) / len(p))
    assert stats.kstest(p, "uniform").pvalue > 0.01
    tail = p[p < 0.005] / 0.005
    assert len(tail) > 50 and stats.kstest(tail, "uniform").pvalue > 0.01
    assert p.min() < 1 / 1000  # below what the first 999 draws alone can give


def test_not_stopped_equals_the_fixed_n_empirical_p(planted):
    """With h above n_max no test stops early: p = (k + 1) / (n_max + 1), k counted by hand
    over the 99 first null sets and 301 more, each scored from the matrix cell by cell."""
    a, comp, smp, nulls = planted
    cal = flag.null_calibration(nulls, SETS, n_null_max=400, null_hits=10**6)
    cal = cal.set_index(["compartment", "set"])
    x = a.X.toarray().astype(np.float64)
    extra = []
    for batch, size in ((1, 2000), (2, 2000)):  # the batch sizes null_calibration uses
        null, ctrl, keep = nulls.sampler.draw("UP", batch, size)
        for r in range(min(size, 301 - len(extra))):
            extra.append(x[:, null[r]].mean(1) - x[:, ctrl[r][keep[r]]].mean(1))
    cells = pd.DataFrame(np.column_stack(extra), index=a.obs_names)
    for c in ("myeloid", "T_NK"):
        d_null, d_more, d_obs = [], [], []
        for s in sorted(smp.unique()):
            inside, outside = (comp == c) & (smp == s), (comp != c) & (smp == s)
            d_null.append(
                nulls.null["UP"].loc[c, s] - nulls.null["UP"].xs(s, level=1).drop(c).mean()
            )
            d_more.append(cells[inside.to_numpy()].mean() - cells[outside.to_numpy()].mean())
            d_obs.append(
                nulls.observed["UP"].loc[c, s] - nulls.observed["UP"].xs(s, level=1).drop(c).mean()
            )
        d_null, d_more, d_obs = np.array(d_null), np.array(d_more), np.array(d_obs)
        mu, sd = d_null.mean(axis=1), d_null.std(axis=1, ddof=1)
        t_obs = np.mean((d_obs - mu) / sd)
        t_all = np.hstack([d_null, d_more]) - mu[:, None]
        k = int((np.mean(t_all / sd[:, None], axis=0) >= t_obs).sum())
        assert cal.loc[(c, "UP"), "n_null"] == 400
        assert cal.loc[(c, "UP"), "p_null"] == pytest.approx((k + 1) / 401, abs=1e-12)
    assert cal.loc[("myeloid", "UP"), "p_null"] == 1 / 401  # the planted program


def test_only_tests_short_of_h_hits_draw_more(planted):
    _, _, _, nulls = planted
    fixed = flag.null_calibration(nulls, SETS).set_index(["compartment", "set"])
    seq = flag.null_calibration(nulls, SETS, n_null_max=5000, null_hits=10)
    seq = seq.set_index(["compartment", "set"])
    hits = np.round(fixed["p_null"] * 100 - 1).astype(int)  # (k + 1) / 100
    short = hits < 10
    # tests with >= h hits among the 99 keep the fixed p and n_null
    pd.testing.assert_frame_equal(seq[~short], fixed[~short])
    assert (seq.loc[short, "n_null"] > 99).all()
    assert seq.loc[("myeloid", "UP"), "p_null"] == 1 / 5001  # no null beats the program
    assert (seq["null_z"] == fixed["null_z"]).all()
    # deterministic; and `needed` limits the tests that draw
    again = flag.null_calibration(nulls, SETS, n_null_max=5000, null_hits=10)
    pd.testing.assert_frame_equal(seq.reset_index(), again)
    only = flag.null_calibration(nulls, SETS, n_null_max=5000, needed={("T_NK", "DOWN")})
    only = only.set_index(["compartment", "set"])
    assert only.loc[("myeloid", "UP"), "n_null"] == 99
    assert only.loc[("T_NK", "DOWN"), "n_null"] == seq.loc[("T_NK", "DOWN"), "n_null"]


def test_random_sets_get_uniform_sequential_p():
    """Type-I error through the whole calibration: random gene sets (no program) as the
    observed sets; their sequential p-values are uniform (KS)."""
    a, comp, smp = _adata(seed=3, planted=False, n_genes=600)
    rng = np.random.default_rng(11)
    sets = [_gs(f"R{i}", [f"G{g}" for g in rng.choice(600, 8, replace=False)]) for i in range(40)]
    groups = pd.DataFrame({"compartment": comp, "sample": smp})
    nulls = score.null_group_means(a, sets, groups=groups, n_null=39, options=SOPTS)
    cal = flag.null_calibration(nulls, sets, n_null_max=1000, null_hits=4)
    p = cal["p_null"].to_numpy()
    assert len(p) == 120 and stats.kstest(p, "uniform").pvalue > 0.01
    assert (p <= 0.05).mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / len(p))


def _flag(a, comp, smp, sopts, **kw):
    scores, _ = score.score_cells(a, SETS[:1], options=sopts)
    return flag.flag_dataset(
        a,
        scores,
        SETS[:1],
        compartment=comp,
        unit=smp,
        options=flag.FlagOptions(**kw),
        score_options=sopts,
    )[1].set_index(["compartment", "set"])


@pytest.mark.parametrize("method", ["mean_diff", "rank"])
def test_flag_dataset_reaches_below_one_over_n_null(planted, method, caplog):
    """Both scoring methods: the calibration statistic is the set's mean-difference contrast
    (linear: the extra null sets come from the profile), so with score.method rank the
    sequential p_null is the same as with mean_diff; only p_samples follows the method."""
    a, comp, smp, _ = planted
    sopts = score.ScoreOptions(method=method, ctrl_size=20, n_bins=10, seed=2, max_rank=100)
    with caplog.at_level(logging.INFO, logger="tmesig"):
        seq = _flag(a, comp, smp, sopts, n_null=99, n_null_max=3000, min_samples=2)
    fixed = _flag(a, comp, smp, sopts, n_null=99, min_samples=2)
    row = ("myeloid", "UP")
    assert fixed.loc[row, "p_null"] == 1 / 100 and seq.loc[row, "p_null"] == 1 / 3001
    assert seq.loc[row, "p"] == max(seq.loc[row, "p_samples"], 1 / 3001)
    assert "1/(3000+1)" in caplog.text and "alpha / n_primary = 0.05/3" in caplog.text
    # rows whose p cannot change (p_samples >= h / n_null) keep the fixed calibration
    same = fixed["p_samples"].isna() | (fixed["p_samples"] >= 10 / 99)
    assert same.any()
    pd.testing.assert_series_equal(seq.loc[same, "p"], fixed.loc[same, "p"])
    assert (seq.loc[same, "n_null"] == 99).all()


def test_log_resolution_says_when_the_smallest_p_is_too_coarse(caplog):
    flags = pd.DataFrame({"family": ["primary"] * 300 + ["exploratory"], "p": 0.5})
    with caplog.at_level(logging.INFO, logger="tmesig"):
        line = log_resolution(flags, alpha=0.05, n_null=1000, n_null_max=None)
        assert "1/(1000+1) = 0.000999" in line and "0.05/300 = 0.000167" in line
        assert "flag.n_null_max above 6000" in line
        assert caplog.records[-1].levelname == "WARNING"
        ok = log_resolution(flags, alpha=0.05, n_null=1000, n_null_max=10000)
        assert "too coarse" not in ok and caplog.records[-1].levelname == "INFO"


def test_flag_options_from_config_take_the_sequential_keys():
    base = {"unit": "sample", "min_cells": 5, "min_samples": 2, "alpha": 0.1, "min_effect": 0.2}
    o = flag.FlagOptions.from_config({**base, "n_null": 19, "n_null_max": 500, "null_hits": 4})
    assert (o.n_null, o.n_null_max, o.null_hits) == (19, 500, 4)
    assert flag.FlagOptions.from_config({**base, "n_null": 19}).n_null_max is None


def test_needs_more_keeps_rows_whose_p_can_change():
    """p = max(p_samples, p_null) and a continued p_null < h / n_null: rows with p_samples
    at or above h / n_null (or untested) cannot change."""
    flags = pd.DataFrame(
        {
            "compartment": ["a", "b", "c", "d", "e"],
            "set": "S",
            "p": [0.001, 0.00999, 0.01, 0.5, np.nan],
        }
    )
    assert needs_more(flags, hits=10, n_null=1000) == {("a", "S"), ("b", "S")}
