import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests
from tmesig import flag, score
from tmesig.signatures import GeneSet


def _set(name, direction, comps=("any",)):
    return GeneSet(
        name=name,
        title=name,
        genes=("G1",),
        direction=direction,
        compartments=comps,
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
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


SETS = [
    _set("up_set", "up", ("myeloid",)),
    _set("down_set", "down", ("epithelial",)),
    _set("null_set", "up"),
]


def test_planted_programs_flagged_in_their_compartment_only():
    df = _cells()
    scores = df[["up_set", "down_set", "null_set"]]
    f = flag.flag_compartments(scores, SETS, compartment=df["comp"], unit=df["sample"])
    flagged = set(zip(f.loc[f["flagged"], "compartment"], f.loc[f["flagged"], "set"], strict=True))
    assert flagged == {("myeloid", "up_set"), ("epithelial", "down_set")}
    assert (f["n_samples"] == 5).all()


def test_p_value_equals_an_independent_paired_test():
    df = _cells(seed=2)
    f = flag.flag_compartments(
        df[["up_set", "down_set", "null_set"]], SETS, compartment=df["comp"], unit=df["sample"]
    )
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
    assert (
        f["family"] == "primary"
    ).sum() == 2 + 3  # up_set/myeloid, down_set/epithelial, null_set/any
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


def _planted_adata(seed=0):
    """Log-normalised data: 3 compartments × 4 samples; set UP's genes high in myeloid;
    HOUSE is a set of highly expressed genes that is high everywhere (no compartment effect)."""
    rng = np.random.default_rng(seed)
    n_genes, rows, comps, samples = 400, [], [], []
    base = rng.gamma(1.0, 1.0, n_genes)
    base[380:] *= 30  # housekeeping-like, highly expressed
    for s in range(4):
        for comp in ("T_NK", "myeloid", "epithelial"):
            lam = np.tile(base, (40, 1)) * rng.uniform(0.8, 1.2, size=(40, 1))
            if comp == "myeloid":
                lam[:, :10] *= 6
            rows.append(rng.poisson(lam))
            comps += [comp] * 40
            samples += [f"s{s}"] * 40
    x = np.vstack(rows).astype(np.float32)
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a, pd.Series(comps, index=a.obs_names), pd.Series(samples, index=a.obs_names)


def _gs_genes(name, genes, direction="up", comps=("any",)):
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


def test_null_calibration_separates_a_program_from_highly_expressed_genes():
    a, comp, smp = _planted_adata()
    sets = [
        _gs_genes("UP", [f"G{i}" for i in range(10)]),
        _gs_genes("HOUSE", [f"G{i}" for i in range(380, 390)]),
    ]
    groups = pd.DataFrame({"compartment": comp, "sample": smp})
    opts = score.ScoreOptions(ctrl_size=20, n_bins=10, seed=0)
    nulls = score.null_group_means(a, sets, groups=groups, n_null=199, options=opts)
    cal = flag.null_calibration(nulls, sets, min_cells=10).set_index(["compartment", "set"])
    assert cal.loc[("myeloid", "UP"), "p_null"] == 1 / 200  # beyond every matched random set
    assert (
        cal.loc[("T_NK", "HOUSE"), "p_null"] > 0.05
        and cal.loc[("myeloid", "HOUSE"), "p_null"] > 0.05
    )
    assert cal.loc[("T_NK", "UP"), "p_null"] > 0.5  # T cells lack the program: null_z very negative


def test_group_profiles_and_drivers_by_hand():
    a, comp, smp = _planted_adata(seed=1)
    groups = pd.DataFrame({"compartment": comp, "sample": smp})
    # the group means of every gene come from the pass of the null sets (as in flag_dataset)
    nulls = score.null_group_means(
        a,
        [_gs_genes("UP", ["G0", "G1"]), _gs_genes("HOUSE", ["G385"])],
        groups=groups,
        n_null=1,
        options=score.ScoreOptions(chunk_size=37),
    )
    prof, n = nulls.profile, nulls.n_cells
    x = a.X.toarray()
    sel = ((comp == "myeloid") & (smp == "s2")).to_numpy()
    assert np.allclose(prof.loc[("myeloid", "s2"), "G1"], x[sel, 1].mean())
    assert n.loc[("myeloid", "s2")] == 40
    drv = flag.driver_genes(prof, n, [_gs_genes("UP", ["G0", "G1"])]).set_index(
        ["compartment", "set"]
    )
    top = drv.loc[("myeloid", "UP"), "top_genes"].split(",")
    assert {t.split(":")[0] for t in top} == {"G0", "G1"}
    # contribution = mean over samples of (myeloid - others) / n genes, by hand for G0
    d = []
    for s in sorted(set(smp)):
        ins = ((comp == "myeloid") & (smp == s)).to_numpy()
        out = ((comp != "myeloid") & (smp == s)).to_numpy()
        d.append(x[ins, 0].mean() - x[out, 0].mean())
    g0 = [t for t in top if t.startswith("G0:")][0]
    assert np.isclose(float(g0.split(":")[1]), np.mean(d) / 2, atol=1e-3)


def test_calibrated_p_is_the_larger_of_the_two():
    df = _cells()
    f = flag.flag_compartments(
        df[["up_set", "down_set", "null_set"]], SETS, compartment=df["comp"], unit=df["sample"]
    )
    cal = f[["compartment", "set"]].assign(null_z=1.0, p_null=0.2, n_null=99)
    out = flag.calibrate_flags(f, cal)
    assert np.allclose(out["p"], np.fmax(out["p_samples"], 0.2))
    assert not out["flagged"].any()  # nothing survives when the null says p = 0.2
    cal2 = cal.assign(p_null=0.001)
    out2 = flag.calibrate_flags(f, cal2)
    assert set(
        zip(out2.loc[out2.flagged, "compartment"], out2.loc[out2.flagged, "set"], strict=True)
    ) == {("myeloid", "up_set"), ("epithelial", "down_set")}


def test_calibrate_flags_takes_driver_genes():
    df = _cells()
    f = flag.flag_compartments(df[["up_set"]], SETS, compartment=df["comp"], unit=df["sample"])
    cal = f[["compartment", "set"]].assign(null_z=1.0, p_null=0.001, n_null=99)
    drivers = f[["compartment", "set"]].assign(top_genes="G1:+0.100")
    out = flag.calibrate_flags(f, cal, drivers=drivers)
    assert (out["top_genes"] == "G1:+0.100").all()
    assert (flag.calibrate_flags(f, cal)["top_genes"] == "").all()
    assert list(out.columns[-3:]) == ["flagged", "top_genes", "note"]


def test_flag_dataset_is_the_whole_statistic():
    a, comp, smp = _planted_adata(seed=2)
    sets = [
        _gs_genes("UP", [f"G{i}" for i in range(10)], comps=("myeloid",)),
        _gs_genes("HOUSE", [f"G{i}" for i in range(380, 390)]),
    ]
    scores, _ = score.score_cells(a, sets)
    opts = flag.FlagOptions(n_null=99)
    sopts = score.ScoreOptions(seed=4)
    table, flags = flag.flag_dataset(
        a, scores, sets, compartment=comp, unit=smp, options=opts, score_options=sopts
    )
    # the six calls it stands for (lineage level only: no states given)
    assert (table["level"] == "lineage").all() and (flags["level"] == "lineage").all()
    assert (table["parent"] == table["compartment"]).all()
    table, flags = table.drop(columns=["level", "parent"]), flags.drop(columns=["level", "parent"])
    pd.testing.assert_frame_equal(
        table, flag.compartment_summary(scores, compartment=comp, unit=smp)
    )
    f = flag.flag_compartments(scores, sets, compartment=comp, unit=smp)
    groups = pd.DataFrame({"compartment": comp, "sample": smp})
    nulls = score.null_group_means(a, sets, groups=groups, n_null=99, options=sopts)
    cal = flag.null_calibration(nulls, sets)
    drivers = flag.driver_genes(nulls.profile, nulls.n_cells, sets)
    pd.testing.assert_frame_equal(flags, flag.calibrate_flags(f, cal, drivers=drivers))
    hits = flags.loc[flags.flagged]
    assert set(zip(hits["compartment"], hits["set"], strict=True)) == {("myeloid", "UP")}
    assert (flags["n_null"] == 99).all()


def test_flag_options_defaults_and_config():
    o = flag.FlagOptions()
    assert (o.min_cells, o.min_samples, o.alpha, o.min_effect, o.n_null) == (10, 3, 0.05, 0.5, 100)
    section = {
        "unit": "patient",
        "min_cells": 5,
        "min_samples": 2,
        "alpha": 0.1,
        "min_effect": 0.2,
        "n_null": 19,
    }
    c = flag.FlagOptions.from_config(section)
    assert (c.min_cells, c.min_samples, c.alpha, c.min_effect, c.n_null) == (5, 2, 0.1, 0.2, 19)
