import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from tmesig import flag
from tmesig.signatures import GeneSet


def _set(name, direction, comps=("any",)):
    return GeneSet(
        name=name, title=name, genes=("G1",), direction=direction, compartments=comps,
        mechanism="m", card=False, provenance={"seed": "x", "section": "y"},
    )


def _cells(seed=0, n_samples=5, n=30, shift_up=1.0, shift_down=-1.0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_samples):
        for comp in ("T_NK", "myeloid", "epithelial"):
            for _ in range(n):
                up = rng.normal() + (shift_up if comp == "myeloid" else 0) + 0.3 * s
                down = rng.normal() + (shift_down if comp == "epithelial" else 0)
                null = rng.normal()
                rows.append((f"s{s}", comp, up, down, null))
    df = pd.DataFrame(rows, columns=["sample", "comp", "up_set", "down_set", "null_set"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


SETS = [_set("up_set", "up", ("myeloid",)), _set("down_set", "down", ("epithelial",)), _set("null_set", "up")]


def test_planted_programs_flagged_in_their_compartment_only():
    df = _cells()
    scores = df[["up_set", "down_set", "null_set"]]
    f = flag.flag_compartments(scores, SETS, compartment=df["comp"], unit=df["sample"])
    flagged = set(zip(f.loc[f["flagged"], "compartment"], f.loc[f["flagged"], "set"], strict=True))
    assert flagged == {("myeloid", "up_set"), ("epithelial", "down_set")}
    assert (f["n_samples"] == 5).all()


def test_p_value_equals_an_independent_paired_test():
    df = _cells(seed=2)
    f = flag.flag_compartments(df[["up_set", "down_set", "null_set"]], SETS, compartment=df["comp"], unit=df["sample"])
    # hand computation: per-sample mean in myeloid minus mean in the other cells of the sample
    diffs = [
        g.loc[g.comp == "myeloid", "up_set"].mean() - g.loc[g.comp != "myeloid", "up_set"].mean()
        for _, g in df.groupby("sample")
    ]
    p = stats.ttest_1samp(diffs, 0, alternative="greater").pvalue
    row = f[(f.compartment == "myeloid") & (f.set == "up_set")].iloc[0]
    assert np.isclose(row["p"], p) and np.isclose(row["effect"], np.mean(diffs))
    assert np.isclose(row["effect_sd"], np.mean(diffs) / df["up_set"].std(ddof=1))
    for fam in ("primary", "exploratory"):
        sub = f[f["family"] == fam]
        assert np.allclose(sub["fdr"], multipletests(sub["p"], method="fdr_bh")[1])
    assert (f["family"] == "primary").sum() == 2 + 3  # up_set/myeloid, down_set/epithelial, null_set/any
    # down set: low in epithelial is resistance, so resistance_effect is positive there
    down = f[(f.compartment == "epithelial") & (f.set == "down_set")].iloc[0]
    assert down["effect"] < 0 < down["resistance_effect"]


def test_two_samples_give_effects_but_no_p_value():
    df = _cells(n_samples=2)
    f = flag.flag_compartments(df[["up_set"]], SETS, compartment=df["comp"], unit=df["sample"])
    assert f["p"].isna().all() and not f["flagged"].any()
    assert f["note"].str.contains("only 2 sample").all()
    assert f["effect"].notna().all()


def test_unassigned_cells_are_excluded_and_summary_is_a_groupby():
    df = _cells()
    comp = df["comp"].copy()
    comp.iloc[:10] = "unassigned"
    f = flag.flag_compartments(df[["up_set"]], SETS, compartment=comp, unit=df["sample"])
    assert "unassigned" not in set(f["compartment"])
    summ = flag.compartment_summary(df[["up_set"]], compartment=comp, unit=df["sample"])
    ref = df.assign(comp=comp).groupby(["comp", "sample"])["up_set"].agg(["mean", "size"])
    for r in summ.itertuples():
        assert np.isclose(r.up_set, ref.loc[(r.compartment, r.sample), "mean"])
        assert r.n_cells == ref.loc[(r.compartment, r.sample), "size"]
