import numpy as np
import pandas as pd
from cohort_helpers import planted_cells
from tmesig import composition, conditions


def test_composition_by_hand_and_planted_shift():
    df = planted_cells()
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


def test_unassigned_left_out_and_fdr_over_tested_compartments():
    from statsmodels.stats.multitest import multipletests

    df = planted_cells(seed=2)
    comp = df["compartment"].copy()
    comp.iloc[:15] = "unassigned"
    # a compartment seen in two responders only: reported, not tested
    rare = df.index[(df["patient"].isin(["R0", "R1"])) & (df["compartment"] == "epithelial")]
    comp.loc[rare[:3]] = "mast"
    tab = composition.composition_table(
        compartment=comp, patient=df["patient"], condition=df["condition"]
    )
    assert "unassigned" not in set(tab["compartment"])
    assert set(tab["compartment"]) == {"T_NK", "myeloid", "epithelial", "mast"}
    assert len(tab) == 4 * 10  # every compartment for every patient x condition
    res = composition.compare_composition(tab, contrast=conditions.Contrast("R", "NR"))
    tested = res["p"].notna()
    assert tested.sum() == 4  # zero fractions are tested on the logit scale too
    assert np.allclose(
        res.loc[tested, "fdr"], multipletests(res.loc[tested, "p"], method="fdr_bh")[1]
    )
    low = composition.compare_composition(
        tab, contrast=conditions.Contrast("R", "NR"), min_patients=6
    )
    assert low["p"].isna().all() and low["fdr"].isna().all() and not low["significant"].any()
    assert pd.api.types.is_float_dtype(low["fdr"])


# --- cell states within a lineage or a refined subset (issue 11) ---------------------------

HIERARCHY = {
    "CD8_exhausted": "CD8_T",
    "CD8_effector_memory": "CD8_T",
    "CD4_conventional": "CD4_T",
    "Treg": "CD4_T",
}


def test_hierarchy_from_the_shipped_subset_markers():
    from tmesig.subsets import load_subset_markers

    assert composition.state_hierarchy(load_subset_markers()) == HIERARCHY


def _cells(spec):
    """spec: {(patient, condition): {(state, lineage): n_cells}} -> per-cell Series."""
    rows = [
        (pat, cond, state, lin)
        for (pat, cond), by in spec.items()
        for (state, lin), k in by.items()
        for _ in range(k)
    ]
    df = pd.DataFrame(rows, columns=["patient", "condition", "state", "lineage"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def _state_table(df):
    return composition.state_composition_table(
        state=df["state"],
        lineage=df["lineage"],
        patient=df["patient"],
        condition=df["condition"],
        hierarchy=HIERARCHY,
    )


def _get(tab, patient, denominator, state):
    sel = (tab.patient == patient) & (tab.denominator == denominator) & (tab.compartment == state)
    assert sel.sum() == 1, (patient, denominator, state)
    return tab[sel].iloc[0]


def test_state_shares_by_hand():
    t, e = "T_NK", "epithelial"
    df = _cells(
        {
            ("P1", "R"): {
                ("CD8_exhausted", t): 3,
                ("CD8_effector_memory", t): 9,
                ("CD8_T", t): 2,  # CD8 without a confident refinement
                ("Treg", t): 4,
                ("CD4_conventional", t): 6,
                ("unassigned", t): 50,  # left out of every denominator
                ("malignant", e): 7,
                ("normal_epithelium", e): 3,
            },
            ("P2", "NR"): {("CD8_exhausted", t): 5, ("NK", t): 5},  # no epithelial cell
        }
    )
    tab = _state_table(df)
    assert set(tab["level"]) == {"state"} and "unassigned" not in set(tab["compartment"])
    # exhausted among CD8: 3 of 3 + 9 + 2
    row = _get(tab, "P1", "CD8_T", "CD8_exhausted")
    assert (row.n_cells, row.n_total, row.parent) == (3, 14, "T_NK")
    assert np.isclose(row.fraction, 3 / 14) and np.isclose(row.logit, np.log(3.5 / 11.5))
    # CD8 among T_NK: every CD8 cell (14) of the 24 state-assigned T_NK cells
    row = _get(tab, "P1", "T_NK", "CD8_T")
    assert (row.n_cells, row.n_total) == (14, 24)
    assert _get(tab, "P1", "T_NK", "CD4_T").n_cells == 10  # Treg + CD4_conventional
    assert _get(tab, "P1", "T_NK", "NK").n_cells == 0  # absent: a share of zero
    assert _get(tab, "P1", "CD4_T", "Treg").n_total == 10
    row = _get(tab, "P1", "epithelial", "malignant")
    assert (row.n_cells, row.n_total, row.parent) == (7, 10, "epithelial")
    # a patient without epithelial cells: the share is undefined, not zero
    row = _get(tab, "P2", "epithelial", "malignant")
    assert row.n_total == 0 and np.isnan(row.fraction) and np.isnan(row.logit)
    assert _get(tab, "P2", "CD8_T", "CD8_exhausted").fraction == 1.0
    # the categories of each denominator partition it
    sums = tab.groupby(["patient", "denominator"])["n_cells"].sum()
    totals = tab.groupby(["patient", "denominator"])["n_total"].first()
    assert (sums == totals).all()
    assert set(tab["denominator"]) == {"T_NK", "epithelial", "CD8_T", "CD4_T"}


def test_no_confident_state_gives_no_state_rows():
    df = _cells({("P1", "R"): {("unassigned", "T_NK"): 5}})
    assert _state_table(df).empty


def _cd8_cohort(exhausted, total=40):
    """CD8 cells of patients: {(patient, condition): n exhausted of ``total``}."""
    return _cells(
        {
            key: {("CD8_exhausted", "T_NK"): k, ("CD8_effector_memory", "T_NK"): total - k}
            for key, k in exhausted.items()
        }
    )


def test_propeller_welch_by_hand():
    from scipy import stats

    k_r, k_nr = [4, 7, 5], [15, 11, 20]
    df = _cd8_cohort(
        {**{(f"R{i}", "R"): k for i, k in enumerate(k_r)}}
        | {(f"N{i}", "NR"): k for i, k in enumerate(k_nr)}
    )
    tab = _state_table(df)
    res = composition.compare_composition(tab, contrast=conditions.Contrast("R", "NR"))
    row = res.set_index(["denominator", "compartment"]).loc[("CD8_T", "CD8_exhausted")]
    # by hand: logit((k + 0.5) / (n + 1)), then Welch's t-test
    a = np.array([np.log((k + 0.5) / (40 - k + 0.5)) for k in k_r])
    b = np.array([np.log((k + 0.5) / (40 - k + 0.5)) for k in k_nr])
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 3
    t = (b.mean() - a.mean()) / np.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)
    assert np.isclose(row["effect"], b.mean() - a.mean())
    assert np.isclose(row["p"], 2 * stats.t.sf(abs(t), dof))
    assert "Welch" in row["method"] and "logit" in row["method"]
    assert np.isclose(row["fraction_test"], np.mean(k_nr) / 40)
    # arcsine square root
    res = composition.compare_composition(
        tab, contrast=conditions.Contrast("R", "NR"), transform="asin"
    )
    row = res.set_index("compartment").loc["CD8_exhausted"]
    a, b = np.arcsin(np.sqrt(np.array(k_r) / 40)), np.arcsin(np.sqrt(np.array(k_nr) / 40))
    assert np.isclose(row["effect"], b.mean() - a.mean()) and "asin" in row["method"]
    # the category of cells without a refinement, were there any, is not tested
    assert set(res["compartment"]) == {"CD8_exhausted", "CD8_effector_memory", "CD8_T"}
    assert set(res.loc[res.compartment == "CD8_T", "denominator"]) == {"T_NK"}


def test_propeller_paired_by_hand_and_dropped_patients_named():
    from scipy import stats

    pre, post = [4, 6, 9, 5], [10, 9, 20, 12]
    spec = {(f"P{i}", "pre"): k for i, k in enumerate(pre)}
    spec |= {(f"P{i}", "post"): k for i, k in enumerate(post)}
    spec[("P9", "post")] = 30  # seen after treatment only
    df = _cd8_cohort(spec)
    # P2 has only 5 CD8 cells before treatment
    drop = df.index[(df.patient == "P2") & (df.condition == "pre")][5:]
    df = df.drop(drop)
    tab = _state_table(df)
    res = composition.compare_composition(
        tab, contrast=conditions.Contrast("pre", "post"), min_cells=10
    )
    row = res.set_index("compartment").loc["CD8_exhausted"]
    k_pre = dict(zip(range(4), pre, strict=True))
    lg = lambda k, n: np.log((k + 0.5) / (n - k + 0.5))  # noqa: E731
    d = np.array([lg(post[i], 40) - lg(k_pre[i], 40) for i in (0, 1, 3)])
    t = d.mean() / (d.std(ddof=1) / np.sqrt(3))
    assert np.isclose(row["effect"], d.mean())
    assert np.isclose(row["p"], 2 * stats.t.sf(abs(t), 2))
    assert "paired" in row["method"] and row["n_pairs"] == 3
    assert "P2 (pre)" in row["note"] and "fewer than 10 cells of CD8_T" in row["note"]
    assert "P2" in row["note"].split("design:")[1] and "P9" in row["note"].split("design:")[1]


def test_fdr_per_level():
    from statsmodels.stats.multitest import multipletests

    df = planted_cells(seed=3)
    lin = composition.composition_table(
        compartment=df["compartment"], patient=df["patient"], condition=df["condition"]
    )
    rng = np.random.default_rng(0)
    states = df["compartment"].map({"T_NK": "CD8_T", "myeloid": "macrophage", "epithelial": "x"})
    sub = rng.random(len(df)) < np.where(df["condition"] == "NR", 0.5, 0.2)
    states[(states == "CD8_T") & sub] = "CD8_exhausted"
    states[(states == "CD8_T")] = "CD8_effector_memory"
    st = composition.state_composition_table(
        state=states,
        lineage=df["compartment"],
        patient=df["patient"],
        condition=df["condition"],
        hierarchy=HIERARCHY,
    )
    res = composition.compare_composition(
        pd.concat([lin, st]), contrast=conditions.Contrast("R", "NR")
    )
    assert set(res["level"]) == {"lineage", "state"}
    for _level, sub_res in res.groupby("level"):
        tested = sub_res[sub_res["p"].notna()]
        assert np.allclose(tested["fdr"], multipletests(tested["p"], method="fdr_bh")[1])
    row = res[(res.level == "state") & (res.compartment == "CD8_exhausted")].iloc[0]
    assert row["significant"] and row["effect"] > 0 and row["denominator"] == "CD8_T"
    # lineage rows keep today's numbers: the same as comparing the lineage table alone
    alone = composition.compare_composition(lin, contrast=conditions.Contrast("R", "NR"))
    pd.testing.assert_frame_equal(
        res[res.level == "lineage"].reset_index(drop=True)[alone.columns], alone, check_dtype=False
    )


def test_only_category_of_a_denominator_not_tested():
    df = planted_cells(seed=4)
    states = df["compartment"].map({"T_NK": "CD8_T", "myeloid": "macrophage", "epithelial": "x"})
    st = composition.state_composition_table(
        state=states,
        lineage=df["compartment"],
        patient=df["patient"],
        condition=df["condition"],
        hierarchy=HIERARCHY,
    )
    lin = composition.composition_table(
        compartment=df["compartment"], patient=df["patient"], condition=df["condition"]
    )
    res = composition.compare_composition(
        pd.concat([lin, st]), contrast=conditions.Contrast("R", "NR")
    )
    state_rows = res[res["level"] == "state"]
    assert len(state_rows) == 3 and state_rows["p"].isna().all()
    assert state_rows["note"].str.contains("share is 1 by construction").all()
    assert (state_rows["method"] == "not tested").all()
    assert res.loc[res["level"] == "lineage", "p"].notna().all()  # three lineages: tested
