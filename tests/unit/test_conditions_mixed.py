"""The mixed model of partly paired designs (tmesig.conditions._mixed) against independent
computations: the paired t-test in the balanced case, statsmodels' formula API, and failures."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.weightstats import DescrStatsW
from tmesig import conditions


def _paired(n=8, seed=0, spread=2.0, shift=0.5):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, spread, n)
    pre = base + rng.normal(0, 0.4, n)
    post = base + shift + rng.normal(0, 0.4, n)
    patients = [f"p{i}" for i in range(n)]
    return pre, post, patients


def test_balanced_paired_design_equals_the_paired_t_test():
    pre, post, patients = _paired()
    values = pd.Series(np.r_[pre, post])
    fit = conditions.mixed_model(
        values,
        patient=pd.Series(patients * 2),
        is_test=pd.Series([False] * 8 + [True] * 8),
    )
    assert not fit.failed and fit.var_patient > 0
    d = post - pre
    ref = stats.ttest_rel(post, pre)
    assert fit.effect == pytest.approx(d.mean(), abs=1e-6)
    assert fit.se == pytest.approx(d.std(ddof=1) / np.sqrt(8), rel=1e-4)
    assert fit.df == pytest.approx(7.0, rel=1e-6)  # Satterthwaite = n - 1 here
    assert fit.p == pytest.approx(ref.pvalue, rel=1e-3)
    lo, hi = DescrStatsW(d).tconfint_mean()
    assert (fit.ci_low, fit.ci_high) == pytest.approx((lo, hi), rel=1e-3)


def test_array_call_equals_the_formula_api_on_an_unbalanced_design():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(11):  # 5 patients in both conditions, 3 in each one only
        conds = (0, 1) if i < 5 else ((0,) if i < 8 else (1,))
        u = rng.normal(0, 1)
        for c in conds:
            for _ in range(1 + (i % 2)):  # some patients with two samples per condition
                rows.append((f"p{i}", c, u + 0.7 * c + rng.normal(0, 0.5)))
    df = pd.DataFrame(rows, columns=["patient", "x", "y"])
    fit = conditions.mixed_model(df["y"], patient=df["patient"], is_test=df["x"] == 1)
    ref = smf.mixedlm("y ~ x", df, groups=df["patient"]).fit(reml=True, method="nm")
    assert ref.converged and not fit.failed
    assert fit.effect == pytest.approx(ref.fe_params["x"], abs=1e-4)
    assert fit.se == pytest.approx(ref.bse_fe["x"], rel=1e-3)
    assert fit.var_residual == pytest.approx(ref.scale, rel=1e-3)
    assert fit.var_patient == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-3)
    assert 1 <= fit.df <= len(df) - 2
    total_sd = np.sqrt(ref.scale + ref.cov_re.iloc[0, 0])
    assert fit.std_effect == pytest.approx(ref.fe_params["x"] / total_sd, rel=1e-3)


def test_failures_are_reported_not_raised(monkeypatch):
    pts = pd.Series(["a", "a", "b", "b", "c", "d"])
    x = pd.Series([False, True, False, True, False, True])
    flat = conditions.mixed_model(pd.Series(1.0, index=range(6)), patient=pts, is_test=x)
    assert flat.failed == "no variation between samples" and np.isnan(flat.p)
    few = conditions.mixed_model(pd.Series([1.0, 2.0, 3.0, 4.0]), patient=pts[:4], is_test=x[:4])
    assert few.failed.startswith("fewer than 3 patients")

    def singular(self, **kw):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(MixedLM, "fit", singular)
    res = conditions.mixed_model(pd.Series([1.0, 2.0, 0.5, 1.7, 0.2, 3.0]), patient=pts, is_test=x)
    assert res.failed == "LinAlgError: Singular matrix" and np.isnan(res.effect)


def _partly_paired(seed=0, shift=0.0):
    """Samples of 6 patients in both conditions, 2 in R only, 2 in NR only; 20 cells each."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(10):
        conds = ("R", "NR") if i < 6 else (("R",) if i < 8 else ("NR",))
        u = rng.normal(0, 1)
        for c in conds:
            v = u + (shift if c == "NR" else 0) + rng.normal(0, 0.3)
            rows.append((f"P{i}", f"P{i}_{c}", c, 20, v))
    return pd.DataFrame(rows, columns=["patient", "sample", "condition", "n_cells", "v"])


def test_compare_samples_falls_back_with_a_note_when_the_fit_fails(monkeypatch):
    samples = _partly_paired(shift=0.8)
    contrast = conditions.Contrast("R", "NR")
    ok = conditions.compare_samples(samples, "v", contrast=contrast)
    assert ok["design"] == "mixed" and (ok["n_ref"], ok["n_test"], ok["n_pairs"]) == (8, 8, 6)
    assert ok["n_samples"] == 16 and ok["p"] < 0.05

    def no_convergence(self, **kw):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(MixedLM, "fit", no_convergence)
    res = conditions.compare_samples(samples, "v", contrast=contrast)
    # the paired t-test on the 6 patients in both conditions, the 4 others named
    pairs = samples[samples["patient"].isin([f"P{i}" for i in range(6)])]
    wide = pairs.pivot(index="patient", columns="condition", values="v")
    assert res["method"] == "paired t-test" and res["n_samples"] == 12
    assert res["p"] == pytest.approx(stats.ttest_rel(wide["NR"], wide["R"]).pvalue)
    assert res["note"] == (
        "mixed model failed (LinAlgError: Singular matrix); paired t-test instead; left out "
        "(in one condition only): P6 (reference only), P7 (reference only), P8 (test only), "
        "P9 (test only)"
    )
    # with fewer than 3 pairs the fallback is Welch on the unpaired patients
    drop = (samples["patient"].isin(["P0", "P1"]) & (samples["condition"] == "NR")) | (
        samples["patient"].isin(["P2", "P3"]) & (samples["condition"] == "R")
    )
    few = samples[~drop]  # pairs: P4, P5; R only: P0, P1, P6, P7; NR only: P2, P3, P8, P9
    res = conditions.compare_samples(few, "v", contrast=contrast)
    single = few[~few["patient"].isin(["P4", "P5"])]
    welch = stats.ttest_ind(
        single.loc[single["condition"] == "NR", "v"],
        single.loc[single["condition"] == "R", "v"],
        equal_var=False,
    )
    assert res["method"] == "Welch t-test" and res["p"] == pytest.approx(welch.pvalue)
    assert (res["n_ref"], res["n_test"], res["n_samples"]) == (4, 4, 8)
    assert res["note"].endswith("left out (in both conditions, too few pairs): P4, P5")


def test_no_convergence_and_a_singular_fit_fall_back(monkeypatch):
    # every pair differs by exactly +1: the within-patient variance is 0
    rows = [(p, f"{p}R", "R", 20, v) for p, v in (("a", 1.0), ("b", 3.0), ("c", 2.0))]
    rows += [(p, f"{p}N", "NR", 20, v + 1.0) for p, v in (("a", 1.0), ("b", 3.0), ("c", 2.0))]
    rows += [("d", "dR", "R", 20, 0.5), ("e", "eN", "NR", 20, 4.0)]
    samples = pd.DataFrame(rows, columns=["patient", "sample", "condition", "n_cells", "v"])
    res = conditions.compare_samples(samples, "v", contrast=conditions.Contrast("R", "NR"))
    assert res["note"].startswith("mixed model failed (") and res["method"] == "paired t-test"
    assert "left out (in one condition only): d (reference only), e (test only)" in res["note"]
    assert res["effect"] == pytest.approx(1.0) and np.isnan(res["p"])

    class NotConverged:
        converged = False

    def fit(self, **kw):
        import warnings

        warnings.warn("Maximum Likelihood optimization failed to converge.", stacklevel=1)
        return NotConverged()

    monkeypatch.setattr(MixedLM, "fit", fit)
    values = pd.Series([1.0, 2.5, 0.3, 1.9, 0.2, 3.0])
    pts = pd.Series(["a", "a", "b", "b", "c", "d"])
    x = pd.Series([False, True, False, True, False, True])
    res = conditions.mixed_model(values, patient=pts, is_test=x)
    assert res.failed == "Maximum Likelihood optimization failed to converge."
