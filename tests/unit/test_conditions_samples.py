"""Sample means, the test each design gets, the patients left out (tmesig.conditions._samples),
and the two levels of compare_conditions, on hand-built tables."""

import numpy as np
import pandas as pd
import pytest
from cohort_helpers import gene_set
from scipy import stats
from statsmodels.stats.multitest import multipletests
from tmesig import conditions
from tmesig.signatures import GeneSet

C = conditions.Contrast("R", "NR")


def _samples(rows):
    return pd.DataFrame(rows, columns=["patient", "sample", "condition", "n_cells", "v"])


def test_sample_means_hand_count():
    cells = pd.DataFrame(
        {
            "compartment": ["T_NK", "T_NK", "T_NK", "myeloid", "unassigned"],
            "state": ["CD8_T", "CD8_T", "unassigned", "macrophage", "unassigned"],
            "patient": ["a", "a", "a", "a", "a"],
            "sample": ["s1", "s1", "s2", "s1", "s1"],
            "condition": ["R", "R", "R", "R", "R"],
        },
        index=list("vwxyz"),
    )
    values = pd.DataFrame({"g": [1.0, 3.0, 10.0, 5.0, 7.0]}, index=list("vwxyz"))
    lin = conditions.sample_means(values, cells, by="compartment")
    assert lin[["compartment", "sample", "n_cells", "g"]].values.tolist() == [
        ["T_NK", "s1", 2, 2.0],
        ["T_NK", "s2", 1, 10.0],
        ["myeloid", "s1", 1, 5.0],
    ]
    st = conditions.sample_means(values, cells, by="state")
    assert sorted(st["compartment"]) == ["CD8_T", "macrophage"]  # unassigned never a state
    # without a sample column each patient x condition is one sample
    no_sample = conditions.sample_means(values, cells.drop(columns="sample"), by="compartment")
    assert no_sample.loc[no_sample["compartment"] == "T_NK", "n_cells"].tolist() == [3]


def test_paired_on_patient_means_of_several_samples():
    rows = []
    for i, (r, nr) in enumerate([(1.0, 2.0), (2.0, 2.5), (0.0, 1.5), (3.0, 3.1)]):
        # two reference samples (mean r), one test sample
        rows += [(f"p{i}", f"p{i}a", "R", 20, r - 0.5), (f"p{i}", f"p{i}b", "R", 20, r + 0.5)]
        rows += [(f"p{i}", f"p{i}c", "NR", 20, nr)]
    res = conditions.compare_samples(_samples(rows), "v", contrast=C)
    ref, test = np.array([1.0, 2.0, 0.0, 3.0]), np.array([2.0, 2.5, 1.5, 3.1])
    assert res["design"] == "paired" and res["method"] == "paired t-test"
    assert res["p"] == pytest.approx(stats.ttest_rel(test, ref).pvalue)
    assert res["effect"] == pytest.approx((test - ref).mean()) and res["n_samples"] == 12
    assert res["note"] == ""


def test_welch_when_nobody_is_paired_and_drops_named():
    rows = [(f"r{i}", f"r{i}", "R", 20, v) for i, v in enumerate([0.1, 0.5, -0.2, 0.3])]
    rows += [(f"n{i}", f"n{i}", "NR", 20, v) for i, v in enumerate([1.1, 0.9, 1.6])]
    rows += [("n3", "n3", "NR", 4, 9.0)]  # too few cells: left out, named
    rows += [("r0", "r0b", "R", 3, 9.0)]  # a second sample of r0 with too few cells
    rows += [("x9", "x9", "other", 50, 9.0)]  # a third condition: not in the contrast
    roster = pd.DataFrame({"patient": ["r9", "n3"], "condition": ["R", "NR"]})
    res = conditions.compare_samples(_samples(rows), "v", contrast=C, roster=roster)
    ref, test = [0.1, 0.5, -0.2, 0.3], [1.1, 0.9, 1.6]
    assert res["design"] == "unpaired" and res["method"] == "Welch t-test"
    assert res["p"] == pytest.approx(stats.ttest_ind(test, ref, equal_var=False).pvalue)
    assert (res["n_ref"], res["n_test"], res["n_samples"]) == (4, 3, 7)
    assert res["note"] == (
        "left out, fewer than 10 cells: n3 (NR); samples left out, fewer than 10 cells: "
        "r0b of r0; no cells here: r9 (R)"
    )


def test_too_few_pairs_or_patients_no_test():
    rows = [(p, f"{p}{c}", c, 20, v) for p, v in (("a", 1.0), ("b", 2.0)) for c in ("R", "NR")]
    res = conditions.compare_samples(_samples(rows), "v", contrast=C)
    assert res["design"] == "insufficient" and np.isnan(res["p"])
    assert res["note"] == "fewer than 3 patients in both conditions (2): no test"
    # partly paired but only 2 test patients: no mixed model either
    rows += [("c", "cR", "R", 20, 0.5)]
    res = conditions.compare_samples(_samples(rows), "v", contrast=C)
    assert res["design"] == "insufficient" and res["method"] == "none"
    assert res["note"] == "fewer than 3 patients per condition (3 vs 2): no test"


def _state_cells(seed=0):
    """5 R and 5 NR patients; T_NK cells are CD8_exhausted or CD4_T; exhaustion +1 in NR
    CD8_exhausted cells only; the epithelial cells are malignant."""
    rng = np.random.default_rng(seed)
    rows = []
    for resp in ("R", "NR"):
        for p in range(5):
            for state, lineage in (
                ("CD8_exhausted", "T_NK"),
                ("CD4_T", "T_NK"),
                ("malignant", "epithelial"),
            ):
                for _ in range(20):
                    shift = 1.0 if (resp == "NR" and state == "CD8_exhausted") else 0.0
                    rows.append((f"{resp}{p}", resp, lineage, state, rng.normal(shift, 0.5)))
    df = pd.DataFrame(rows, columns=["patient", "condition", "compartment", "state", "exhaustion"])
    df["parent"] = df["compartment"]
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def _set(name, compartments):
    return GeneSet(
        name=name, title=name, genes=("G",), direction="up", compartments=compartments,
        mechanism="m", card=False, provenance={"seed": "s", "section": "x"},
    )  # fmt: skip


def test_two_levels_families_per_level_and_gene_counts():
    df = _state_cells()
    df["null"] = np.random.default_rng(1).normal(0, 0.5, len(df))
    sets = [_set("exhaustion", ("CD8_exhausted",)), _set("null", ("T_NK",))]
    cov = pd.DataFrame({"set": ["exhaustion", "null"], "n_genes": [6, 4], "n_found": [5, 1]})
    out = conditions.compare_conditions(
        df[["exhaustion", "null"]], sets, cells=df, contrast=C, coverage=cov
    )
    key = out.set_index(["level", "compartment", "set"])
    assert list(out.columns[:8]) == [
        "level", "compartment", "parent", "set", "n_genes_found", "n_genes", "direction",
        "family",
    ]  # fmt: skip
    fam = key["family"]
    # exhaustion names a state: primary there only; null names T_NK: primary in the
    # lineage and in both of its states (it names no state of T_NK)
    assert fam[("state", "CD8_exhausted", "exhaustion")] == "primary"
    assert fam[("lineage", "T_NK", "exhaustion")] == "exploratory"
    assert fam[("state", "CD4_T", "exhaustion")] == "exploratory"
    assert fam[("lineage", "T_NK", "null")] == "primary"
    assert fam[("state", "CD4_T", "null")] == fam[("state", "CD8_exhausted", "null")] == "primary"
    assert fam[("state", "malignant", "null")] == "exploratory"
    assert key.loc[("state", "malignant", "null"), "parent"] == "epithelial"
    for (level, f), sub in out.groupby(["level", "family"]):
        assert np.allclose(sub["fdr"], multipletests(sub["p"], method="fdr_bh")[1]), (level, f)
    sig = set(out.loc[out["significant"], ["level", "compartment", "set"]].itertuples(index=False))
    assert ("state", "CD8_exhausted", "exhaustion") in sig
    # planted only in CD8_exhausted: the other states of the exhaustion set stay quiet
    assert not {("state", "CD4_T", "exhaustion"), ("state", "malignant", "exhaustion")} & sig
    assert (out.loc[out["set"] == "exhaustion", ["n_genes_found", "n_genes"]] == [5, 6]).all().all()
    # no coverage: the columns are there, empty
    bare = conditions.compare_conditions(df[["null"]], sets[1:], cells=df, contrast=C)
    assert bare["n_genes"].isna().all() and "n_genes_found" in bare


def test_primary_in_contract():
    cd8 = _set("a", ("CD8_exhausted", "T_NK"))
    assert conditions.primary_in(cd8, "CD8_exhausted", level="state", parent="T_NK")
    # T_NK is named but so is a T_NK state: other T_NK states are not primary
    assert not conditions.primary_in(cd8, "Treg", level="state", parent="T_NK")
    assert conditions.primary_in(cd8, "T_NK", level="lineage", parent="T_NK")
    mal = _set("b", ("malignant",))
    assert conditions.primary_in(mal, "malignant", level="state", parent="epithelial")
    assert not conditions.primary_in(mal, "epithelial", level="lineage", parent="epithelial")
    assert not conditions.primary_in(mal, "normal_epithelium", level="state", parent="epithelial")
    anyset = gene_set("c", "up")
    assert conditions.primary_in(anyset, "CAF", level="state", parent="fibroblast")
