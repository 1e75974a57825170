"""tmesig.de per-gene tests: pydeseq2 on planted negative-binomial counts; the t-test fallback
against scipy; the paired design finds a within-patient effect the unpaired one misses."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tmesig import de
from tmesig.conditions import Contrast


def _nb(rng, mean, dispersion):
    r = 1.0 / dispersion
    return rng.negative_binomial(r, r / (r + mean))


def _cohort(*, n_patients, n_genes, planted, fold, patient_sd, paired, seed=0):
    """Pseudobulk counts: ``planted`` genes ``fold`` higher in the test condition."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(5.0, 1.0, n_genes)
    rows, units = [], []
    for p in range(n_patients):
        patient = rng.lognormal(0.0, patient_sd, n_genes)  # each patient's own levels
        conds = (False, True) if paired else ((p % 2) == 1,)
        for is_test in conds:
            # half the planted genes up, half down: the size factors stay unbiased
            up = fold ** np.where(np.arange(n_genes) < planted // 2, 1.0, -1.0)
            mean = base * patient * np.where((np.arange(n_genes) < planted) & is_test, up, 1.0)
            rows.append(_nb(rng, mean * rng.uniform(0.7, 1.3), 0.02))
            units.append((f"P{p}", is_test))
    counts = pd.DataFrame(rows, columns=[f"G{i:03d}" for i in range(n_genes)])
    return counts, pd.DataFrame(units, columns=["patient", "is_test"])


def test_pydeseq2_recovers_planted_genes_and_not_null_genes():
    counts, units = _cohort(
        n_patients=12, n_genes=150, planted=20, fold=4.0, patient_sd=0.2, paired=False
    )
    res = de.deseq_genes(counts, units, paired=False)
    planted = res.index[:20]
    assert (res.loc[planted, "fdr"] < 0.05).all()
    assert (res.loc[planted[:10], "effect"] > 1.5).all()  # log2(4) = 2
    assert (res.loc[planted[10:], "effect"] < -1.5).all()
    assert (res.drop(planted)["fdr"].fillna(1) < 0.05).sum() <= 1  # of 130 null genes


def test_paired_design_finds_within_patient_effect_unpaired_misses():
    counts, units = _cohort(
        n_patients=6, n_genes=150, planted=20, fold=1.6, patient_sd=1.0, paired=True, seed=1
    )
    paired = de.deseq_genes(counts, units, paired=True)
    unpaired = de.deseq_genes(counts, units, paired=False)
    hits_p = (paired["fdr"].iloc[:20] < 0.05).sum()  # fold 1.6 up or down
    hits_u = (unpaired["fdr"].iloc[:20] < 0.05).sum()
    assert hits_p >= 15 and hits_u <= 3, (hits_p, hits_u)
    assert (paired["fdr"].iloc[20:].fillna(1) < 0.05).sum() <= 1


@pytest.mark.parametrize("paired", [True, False])
def test_lognormal_fallback_equals_scipy(paired):
    rng = np.random.default_rng(3)
    n, g = 5, 12
    units = (
        pd.DataFrame(
            {"patient": [f"P{i}" for i in range(n)] * 2, "is_test": [False] * n + [True] * n}
        )
        if paired
        else pd.DataFrame(
            {"patient": [f"P{i}" for i in range(2 * n)], "is_test": [False] * n + [True] * n}
        )
    )
    values = pd.DataFrame(rng.normal(1.0, 0.5, (2 * n, g)), columns=[f"G{i}" for i in range(g)])
    values = values.sample(frac=1, random_state=0)  # the units in any order
    units = units.loc[values.index]
    res = de.lognormal_genes(
        values.reset_index(drop=True), units.reset_index(drop=True), paired=paired
    )
    for gene in values.columns:
        ref = values.loc[~units["is_test"], gene].set_axis(units.loc[~units["is_test"], "patient"])
        test = values.loc[units["is_test"], gene].set_axis(units.loc[units["is_test"], "patient"])
        if paired:
            want = stats.ttest_rel(test.sort_index(), ref.sort_index())
        else:
            want = stats.ttest_ind(test, ref, equal_var=False)
        assert res.loc[gene, "p"] == pytest.approx(want.pvalue, rel=1e-10)
        assert res.loc[gene, "stat"] == pytest.approx(want.statistic, rel=1e-10)
        assert res.loc[gene, "effect"] == pytest.approx(test.mean() - ref.mean())


def test_compare_genes_table_names_dropped_and_untested():
    counts, units = _cohort(
        n_patients=6, n_genes=120, planted=10, fold=4.0, patient_sd=0.2, paired=True, seed=2
    )
    meta = units.assign(
        level="lineage",
        compartment="T_NK",
        condition=np.where(units["is_test"], "post", "pre"),
        n_cells=50,
    )
    tiny = meta.iloc[:2].assign(compartment="mast", n_cells=3)
    meta = pd.concat([meta, tiny], ignore_index=True)[
        ["level", "compartment", "patient", "condition", "n_cells"]
    ]
    values = np.vstack([counts.to_numpy(float), counts.to_numpy(float)[:2]])
    out = de.compare_genes(
        meta, values, counts.columns, contrast=Contrast("pre", "post"), counts=True
    )
    assert list(out.columns) == list(de.DE_COLUMNS)
    t = out[out["compartment"] == "T_NK"]
    assert (t["design"] == "~patient + condition").all() and (t["n_pairs"] == 6).all()
    assert set(t.loc[t["fdr"] < 0.05, "gene"]) >= set(counts.columns[:10])
    mast = out[out["compartment"] == "mast"]
    assert len(mast) == 1 and mast["gene"].iloc[0] in ("", np.nan) or pd.isna(mast["gene"].iloc[0])
    assert (
        mast["design"].iloc[0] == "insufficient" and "fewer than 10 cells" in mast["note"].iloc[0]
    )
