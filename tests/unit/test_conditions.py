import numpy as np
import pandas as pd
import pytest
from cohort_helpers import gene_set, planted_cells
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from tmesig import conditions
from tmesig.io import InputError
from tmesig.signatures import GeneSet


def test_unpaired_matches_welch_and_statsmodels_ci():
    rng = np.random.default_rng(0)
    ref = pd.Series(rng.normal(0, 1, 6), index=[f"r{i}" for i in range(6)])
    test = pd.Series(rng.normal(1, 2, 5), index=[f"t{i}" for i in range(5)])
    res = conditions.compare_units(ref, test)
    assert res["design"] == "unpaired"
    assert np.isclose(res["p"], stats.ttest_ind(test, ref, equal_var=False).pvalue)
    lo, hi = CompareMeans(DescrStatsW(test.to_numpy()), DescrStatsW(ref.to_numpy())).tconfint_diff(
        usevar="unequal"
    )
    assert np.isclose(res["ci_low"], lo) and np.isclose(res["ci_high"], hi)
    assert np.isclose(res["effect"], test.mean() - ref.mean())


def test_paired_design_finds_a_within_patient_shift_that_unpaired_misses():
    rng = np.random.default_rng(1)
    patients = [f"p{i}" for i in range(6)]
    base = rng.normal(0, 3, 6)  # large between-patient spread
    pre = pd.Series(base + rng.normal(0, 0.1, 6), index=patients)
    post = pd.Series(base + 0.5 + rng.normal(0, 0.1, 6), index=patients)
    paired = conditions.compare_units(pre, post)
    assert paired["design"] == "paired" and paired["n_pairs"] == 6
    assert np.isclose(paired["p"], stats.ttest_rel(post, pre).pvalue) and paired["p"] < 0.001
    d = (post - pre).to_numpy()
    lo, hi = DescrStatsW(d).tconfint_mean()
    assert np.isclose(paired["ci_low"], lo) and np.isclose(paired["ci_high"], hi)
    # the same values, patients relabelled so that nobody is paired
    unpaired = conditions.compare_units(pre, post.rename(lambda p: p + "_b"))
    assert unpaired["design"] == "unpaired" and unpaired["p"] > 0.5


def test_too_few_patients_reported_not_tested():
    res = conditions.compare_units(
        pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([3.0, 4.0, 5.0], index=["c", "d", "e"])
    )
    assert res["design"] == "insufficient" and np.isnan(res["p"])
    assert "fewer than 3 patients" in res["note"] and res["effect"] == pytest.approx(2.5)


def test_no_contrast_note_says_why():
    none = conditions.no_contrast_note(["NA", "NA"])
    assert none.endswith("name a condition column (condition_col) in the sample sheet")
    one = conditions.no_contrast_note(["R", "R", "nan"])
    assert one.startswith("no condition to compare: every cell of the dataset is of condition 'R'")
    assert "condition_col" not in one and "one dataset (one sample-sheet row)" in one


def test_resolve_contrast():
    c = conditions.resolve_contrast(["R", "NR", "R"], reference=None, test=None)
    assert (c.reference, c.test) == ("NR", "R") and "alphabetically" in c.note
    assert conditions.resolve_contrast(["NA"], reference=None, test=None) is None
    with pytest.raises(InputError, match="conditions.reference"):
        conditions.resolve_contrast(["a", "b", "c"], reference=None, test=None)
    with pytest.raises(InputError, match="not in the data"):
        conditions.resolve_contrast(["a", "b"], reference="a", test="z")
    assert issubclass(InputError, ValueError)


def test_planted_condition_effect_found_where_planted_only():
    df = planted_cells()
    c = conditions.resolve_contrast(df["condition"], reference="R", test="NR")
    out = conditions.compare_conditions(
        df[["exhaustion", "null"]],
        [gene_set("exhaustion", "up"), gene_set("null", "up")],
        cells=df,
        contrast=c,
    )
    sig = set(
        zip(
            out.loc[out["significant"], "compartment"],
            out.loc[out["significant"], "set"],
            strict=True,
        )
    )
    assert sig == {("T_NK", "exhaustion")}
    row = out[(out.compartment == "T_NK") & (out.set == "exhaustion")].iloc[0]
    assert row["design"] == "unpaired" and row["n_ref"] == 5 and row["resistance_effect"] > 0
    assert row["ci_low"] < 1.0 < row["ci_high"]


def test_fdr_within_families():
    from statsmodels.stats.multitest import multipletests

    df = planted_cells(seed=3)
    sets = [
        GeneSet(
            name="exhaustion",
            title="e",
            genes=("G",),
            direction="up",
            compartments=("T_NK",),
            mechanism="m",
            card=False,
            provenance={"seed": "s", "section": "x"},
        ),
        gene_set("null", "up"),
    ]
    out = conditions.compare_conditions(
        df[["exhaustion", "null"]],
        sets,
        cells=df,
        contrast=conditions.Contrast("R", "NR"),
    )
    fam = out.set_index(["compartment", "set"])["family"]
    assert (
        fam[("T_NK", "exhaustion")] == "primary" and fam[("myeloid", "exhaustion")] == "exploratory"
    )
    assert (out.loc[out["set"] == "null", "family"] == "primary").all()
    for f in ("primary", "exploratory"):
        sub = out[out["family"] == f]
        assert np.allclose(sub["fdr"], multipletests(sub["p"], method="fdr_bh")[1])


def test_paired_notes_and_degenerate_cases():
    idx = ["a", "b", "c", "d"]
    ref = pd.Series([1.0, 2.0, 3.0, 4.0], index=idx)
    same = conditions.compare_units(ref, ref + 1.0)
    assert same["design"] == "paired" and same["effect"] == pytest.approx(1.0)
    assert np.isnan(same["p"]) and same["note"] == "identical within-patient differences: no test"
    extra = pd.concat([ref + 1.0 + np.array([0.1, -0.1, 0.2, 0.0]), pd.Series([9.0], ["e"])])
    res = conditions.compare_units(ref, extra)
    assert res["design"] == "paired" and res["n_pairs"] == 4 and res["n_test"] == 5
    assert res["note"] == "1 patient sample(s) seen in one condition only were left out"
    # too few pairs: the paired patients are dropped and the rest compared unpaired
    r = pd.Series([1.0, 2.0, 3.0, 5.0], index=["a", "b", "c", "p"])
    t = pd.Series([2.0, 4.0, 6.0, 8.0], index=["x", "y", "z", "p"])
    res = conditions.compare_units(r, t)
    assert res["design"] == "unpaired" and (res["n_ref"], res["n_test"]) == (3, 3)
    assert res["note"].startswith("1 patient(s) in both conditions left out")
    assert res["mean_ref"] == pytest.approx(2.0) and res["mean_test"] == pytest.approx(4.0)
    flat = conditions.compare_units(pd.Series(1.0, index=idx), pd.Series(2.0, index=list("wxyz")))
    assert flat["note"] == "no variation between patients: no test" and np.isnan(flat["p"])
    assert list(flat) == [
        "n_ref",
        "n_test",
        "n_pairs",
        "mean_ref",
        "mean_test",
        "effect",
        "ci_low",
        "ci_high",
        "std_effect",
        "p",
        "note",
        "design",
    ]


def test_options_from_config_and_min_patients():
    section = {"reference": "R", "test": "NR", "min_cells": 5, "min_patients": 6, "alpha": 0.1}
    opts = conditions.ConditionOptions.from_config(section)
    assert opts == conditions.ConditionOptions(min_cells=5, min_patients=6, alpha=0.1)
    default = conditions.ConditionOptions()
    assert (default.min_cells, default.min_patients, default.alpha) == (10, 3, 0.05)
    df = planted_cells()
    out = conditions.compare_conditions(
        df[["exhaustion"]],
        [gene_set("exhaustion", "down")],
        cells=df,
        contrast=conditions.resolve_contrast(df["condition"], reference=None, test=None),
        options=opts,
    )
    assert (out["design"] == "insufficient").all() and not out["significant"].any()
    assert out["note"].str.endswith("; reference 'NR' chosen alphabetically").all()
    # a down set: resistance_effect is the negated standardised effect
    out = conditions.compare_conditions(
        df[["exhaustion"]],
        [gene_set("exhaustion", "down")],
        cells=df,
        contrast=conditions.Contrast("R", "NR"),
    )
    assert np.allclose(out["resistance_effect"], -out["std_effect"])


def test_with_unit_note_only_when_every_patient_is_a_sample():
    c = conditions.Contrast("pre", "post", note="picked")
    same = pd.Series(["s1", "s2"])
    got = conditions.with_unit_note(c, patient=same, sample=same)
    assert got.note.startswith("picked; each sample counted as its own patient")
    assert got.reference == "pre" and got.test == "post"
    assert conditions.with_unit_note(c, patient=pd.Series(["p1", "p1"]), sample=same) is c
