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
