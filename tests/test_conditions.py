import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from tmesig import composition, conditions
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


def test_resolve_contrast():
    c = conditions.resolve_contrast(["R", "NR", "R"], reference=None, test=None)
    assert (c.reference, c.test) == ("NR", "R") and "alphabetically" in c.note
    assert conditions.resolve_contrast(["NA"], reference=None, test=None) is None
    with pytest.raises(ValueError, match="conditions.reference"):
        conditions.resolve_contrast(["a", "b", "c"], reference=None, test=None)
    with pytest.raises(ValueError, match="not in the data"):
        conditions.resolve_contrast(["a", "b"], reference="a", test="z")


def _gs(name, direction):
    return GeneSet(
        name=name,
        title=name,
        genes=("G",),
        direction=direction,
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "s", "section": "x"},
    )


def _planted_cells(seed=0, n_patients=5, n=20):
    """Non-responders' T cells carry more exhaustion; their myeloid share is doubled."""
    rng = np.random.default_rng(seed)
    rows = []
    for resp in ("R", "NR"):
        for p in range(n_patients):
            pat = f"{resp}{p}"
            offset = rng.normal(0, 0.2)
            n_my = (2 * n if resp == "NR" else n) + int(rng.integers(-5, 6))
            for comp, k in (("T_NK", n), ("myeloid", n_my), ("epithelial", 2 * n)):
                for _ in range(k):
                    exh = (
                        rng.normal(0, 0.5)
                        + offset
                        + (1.0 if (comp == "T_NK" and resp == "NR") else 0)
                    )
                    rows.append((pat, resp, comp, exh, rng.normal(0, 0.5)))
    df = pd.DataFrame(rows, columns=["patient", "condition", "compartment", "exhaustion", "null"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def test_planted_condition_effect_found_where_planted_only():
    df = _planted_cells()
    c = conditions.resolve_contrast(df["condition"], reference="R", test="NR")
    out = conditions.compare_conditions(
        df[["exhaustion", "null"]],
        [_gs("exhaustion", "up"), _gs("null", "up")],
        compartment=df["compartment"],
        patient=df["patient"],
        condition=df["condition"],
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


def test_composition_by_hand_and_planted_shift():
    df = _planted_cells()
    tab = composition.composition_table(
        compartment=df["compartment"], patient=df["patient"], condition=df["condition"]
    )
    n_my = int(((df.patient == "R0") & (df.compartment == "myeloid")).sum())
    r0 = tab[(tab.patient == "R0") & (tab.compartment == "myeloid")].iloc[0]
    assert (
        r0["n_cells"] == n_my
        and r0["n_total"] == 60 + n_my
        and r0["fraction"] == n_my / (60 + n_my)
    )
    assert np.isclose(r0["logit"], np.log((n_my + 0.5) / (60 + 0.5)))
    c = conditions.Contrast("R", "NR")
    comp = composition.compare_composition(tab, contrast=c).set_index("compartment")
    assert comp.loc["myeloid", "effect"] > 0 and comp.loc["myeloid", "significant"]
    fr = (
        df[df.condition == "NR"]
        .groupby("patient")["compartment"]
        .apply(lambda c: (c == "myeloid").mean())
    )
    assert np.isclose(comp.loc["myeloid", "fraction_test"], fr.mean())


def test_fdr_within_families():
    from statsmodels.stats.multitest import multipletests

    df = _planted_cells(seed=3)
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
        _gs("null", "up"),
    ]
    out = conditions.compare_conditions(
        df[["exhaustion", "null"]],
        sets,
        compartment=df["compartment"],
        patient=df["patient"],
        condition=df["condition"],
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
