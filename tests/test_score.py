import numpy as np
import pytest
import scanpy as sc
from tmesig import score
from tmesig.signatures import GeneSet


def _set(name, genes, direction="up"):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction=direction,
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


@pytest.fixture
def lognorm(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_coverage_by_hand(lognorm):
    a = lognorm
    a.X[:, 5] = 0  # G5 present but never expressed
    a.X.eliminate_zeros()
    sets = [
        _set("full", ["G0", "G1", "G2", "G3"]),
        _set("half", ["G0", "G1", "NOPE1", "NOPE2"]),
        _set("quarter", ["G0", "NOPE1", "NOPE2", "NOPE3"]),
        _set("silent", ["G5"]),
    ]
    cov = score.coverage_table(a, sets, min_coverage=0.5).set_index("set")
    assert cov.loc["full", ["n_genes", "n_found", "n_expressed"]].tolist() == [4, 4, 4]
    assert cov.loc["half", "fraction"] == 0.5 and cov.loc["half", "scored"]
    assert cov.loc["half", "genes_missing"] == "NOPE1,NOPE2"
    assert not cov.loc["quarter", "scored"] and "coverage 0.25" in cov.loc["quarter", "reason"]
    assert not cov.loc["silent", "scored"] and "expressed" in cov.loc["silent", "reason"]


def test_scores_equal_scanpy_score_genes(lognorm):
    sets = [_set("s1", [f"G{i}" for i in range(15)]), _set("s2", ["G20", "G40", "G60", "NOPE"])]
    scores, cov = score.score_cells(
        lognorm, sets, min_coverage=0.5, ctrl_size=20, n_bins=10, seed=7
    )
    for gs in sets:
        ref = lognorm.copy()
        genes = [g for g in gs.genes if g in ref.var_names]
        sc.tl.score_genes(ref, genes, ctrl_size=20, n_bins=10, random_state=7, score_name="ref")
        np.testing.assert_allclose(scores[gs.name].to_numpy(), ref.obs["ref"].to_numpy(), atol=1e-5)
    # the planted program (genes 0-14 up in group A) is highest in group A
    means = scores.groupby(lognorm.obs["group"].to_numpy())["s1"].mean()
    assert means.idxmax() == "A" and means["A"] - means.drop("A").max() > 1.0


def test_low_coverage_set_not_scored(lognorm):
    sets = [_set("ok", ["G0", "G1"]), _set("bad", ["G0", "X1", "X2", "X3"])]
    scores, cov = score.score_cells(lognorm, sets, min_coverage=0.5)
    assert list(scores.columns) == ["ok"]
    assert cov.set_index("set").loc["bad", "scored"] == False  # noqa: E712


# ----------------------------------------------------------------- fast engine (issue 3)

import anndata as ad  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from conftest import DEMO  # noqa: E402
from scipy.stats import mannwhitneyu, rankdata  # noqa: E402
from tmesig import signatures, simulate  # noqa: E402


def _scanpy_loop(adata, sets, *, ctrl_size=50, n_bins=25, seed=0):
    out = {}
    for gs in sets:
        ref = ad.AnnData(adata.X, var=pd.DataFrame(index=adata.var_names))
        genes = [g for g in gs.genes if g in ref.var_names]
        sc.tl.score_genes(
            ref, genes, ctrl_size=ctrl_size, n_bins=n_bins, random_state=seed, score_name="r"
        )
        out[gs.name] = ref.obs["r"].to_numpy()
    return pd.DataFrame(out)


def test_mean_diff_equals_scanpy_on_demo():
    a = ad.read_h5ad(DEMO)
    a.X = a.X.astype(np.float32)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    lib = signatures.load_library()
    cov = score.coverage_table(a, lib, min_coverage=0.5)
    sets = [gs for gs, ok in zip(lib, cov["scored"], strict=True) if ok]
    fast = score.score_mean_diff(a, sets, seed=0, chunk_size=1_500)
    ref = _scanpy_loop(a, sets, seed=0)
    assert np.abs(fast.to_numpy() - ref.to_numpy()).max() <= 1e-4
    # the gene means scanpy bins on are reproduced bit for bit
    from scanpy.tools._score_genes import _sparse_nanmean

    np.testing.assert_array_equal(
        score.gene_stats(a, chunk_size=777).means, np.asarray(_sparse_nanmean(a.X, axis=0)).ravel()
    )


@pytest.mark.parametrize(("ctrl_size", "n_bins", "seed"), [(50, 25, 0), (10, 7, 3)])
def test_mean_diff_equals_scanpy_on_simulated(ctrl_size, n_bins, seed):
    a = simulate.simulate(1_500, n_genes=2_000, lognorm=True, seed=5)
    sets = [
        gs
        for gs in signatures.load_library()
        if gs.name in ("tcell_exhaustion", "m2_tam", "b2m_mhc1_apm", "hallmark_hypoxia")
    ]
    fast = score.score_mean_diff(
        a, sets, ctrl_size=ctrl_size, n_bins=n_bins, seed=seed, chunk_size=400
    )
    ref = _scanpy_loop(a, sets, ctrl_size=ctrl_size, n_bins=n_bins, seed=seed)
    assert np.abs(fast.to_numpy() - ref.to_numpy()).max() <= 1e-4
    # a different seed draws different controls (the seed is really used)
    other = score.score_mean_diff(a, sets[:1], ctrl_size=ctrl_size, n_bins=n_bins, seed=seed + 1)
    assert np.abs(other.iloc[:, 0].to_numpy() - fast.iloc[:, 0].to_numpy()).max() > 0


def test_backed_equals_in_memory(tmp_path):
    path = simulate.write_h5ad_chunked(
        tmp_path / "sim.h5ad", 1_200, n_genes=1_500, seed=2, chunk_size=500
    )
    mem = ad.read_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    sets = signatures.load_library()[:6]
    for fn in (score.score_mean_diff, score.score_rank):
        a = fn(mem, sets)
        b = fn(backed, sets, chunk_size=250)
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), atol=1e-12)
    s_mem, cov_mem = score.score_cells(mem, sets)
    s_b, cov_b = score.score_cells(backed, sets, chunk_size=300)
    pd.testing.assert_frame_equal(cov_mem, cov_b)
    np.testing.assert_allclose(s_b.to_numpy(), s_mem.to_numpy(), atol=1e-6)
    assert s_b.attrs["tmesig_score"]["method"] == "mean_diff"
    with pytest.raises(ValueError, match="in memory"):
        score.score_cells(backed, sets, method="scanpy")


def _ucell_reference(x, idx_sets, max_rank):
    out = np.zeros((x.shape[0], len(idx_sets)))
    for i in range(x.shape[0]):
        r = rankdata(-x[i], method="average")
        r[r > max_rank] = max_rank + 1
        for k, idx in enumerate(idx_sets):
            rr, n = r[idx], len(idx)
            out[i, k] = (
                0.0 if (rr > max_rank).all() else 1 - (rr.sum() - n * (n + 1) / 2) / (n * max_rank)
            )
    return out


def test_rank_score_equals_reference_and_mannwhitney():
    rng = np.random.default_rng(1)
    n, g = 120, 300
    counts = rng.poisson(rng.gamma(0.4, 1.5, size=(n, g))).astype(np.float32)
    a = ad.AnnData(sp.csr_matrix(counts), var=pd.DataFrame(index=[f"G{i}" for i in range(g)]))
    idx_sets = [np.arange(0, 12), np.arange(40, 43), np.arange(100, 170)]
    sets = [_set(f"s{k}", [f"G{i}" for i in idx]) for k, idx in enumerate(idx_sets)]
    for max_rank in (30, 120, g):
        got = score.score_rank(a, sets, max_rank=max_rank, chunk_size=50).to_numpy()
        np.testing.assert_allclose(got, _ucell_reference(counts, idx_sets, max_rank), atol=1e-12)
    # with max_rank = all genes, U = n*m - U1(scipy), U1 = mannwhitneyu(set, rest).statistic
    got = score.score_rank(a, sets, max_rank=g).to_numpy()
    for k, idx in enumerate(idx_sets):
        rest = np.setdiff1d(np.arange(g), idx)
        for i in (0, 7, 50):
            u1 = float(
                mannwhitneyu(counts[i, idx].astype(float), counts[i, rest].astype(float)).statistic
            )
            u = len(idx) * len(rest) - u1
            assert got[i, k] == pytest.approx(1 - u / (len(idx) * g), abs=1e-12)
    # ranks are per cell: counts and log-normalised data give the same score
    ln = a.copy()
    sc.pp.normalize_total(ln, target_sum=1e4)
    sc.pp.log1p(ln)
    np.testing.assert_allclose(
        score.score_rank(ln, sets).to_numpy(), score.score_rank(a, sets).to_numpy(), atol=1e-12
    )
    # down-genes: max(0, up - w_neg * down)
    up = score.score_rank(a, sets[:1], max_rank=120).iloc[:, 0].to_numpy()
    down = score.score_rank(a, sets[1:2], max_rank=120).iloc[:, 0].to_numpy()
    signed = score.score_rank(
        a, sets[:1], max_rank=120, down_genes={"s0": sets[1].genes}, w_neg=0.5
    )
    np.testing.assert_allclose(
        signed.iloc[:, 0].to_numpy(), np.maximum(0, up - 0.5 * down), atol=1e-12
    )
    neg = a.copy()
    neg.X.data[0] = -1.0
    with pytest.raises(ValueError, match="negative"):
        score.score_rank(neg, sets)


def test_score_cells_methods(lognorm):
    sets = [_set("s1", [f"G{i}" for i in range(15)]), _set("s2", ["G20", "G40", "G60", "NOPE"])]
    fast, _ = score.score_cells(lognorm, sets, seed=7, ctrl_size=20, n_bins=10)
    ref, _ = score.score_cells(lognorm, sets, method="scanpy", seed=7, ctrl_size=20, n_bins=10)
    np.testing.assert_allclose(fast.to_numpy(), ref.to_numpy(), atol=1e-5)
    rank, _ = score.score_cells(lognorm, sets, method="rank", max_rank=100)
    assert rank.attrs["tmesig_score"] == {
        "method": "rank",
        "min_coverage": 0.5,
        "max_rank": 100,
        "down_genes": [],
    }
    means = rank.groupby(lognorm.obs["group"].to_numpy())["s1"].mean()
    assert means.idxmax() == "A"
    with pytest.raises(ValueError, match="unknown scoring method"):
        score.score_cells(lognorm, sets, method="aucell")


def test_null_group_means(lognorm):
    sets = [
        _set("s1", [f"G{i}" for i in range(15)]),
        _set("s2", [f"G{i}" for i in range(100, 110)]),
    ]
    groups = lognorm.obs["group"].astype(str) + "|" + lognorm.obs["sample"].astype(str)
    res = score.null_group_means(
        lognorm, sets, groups=groups, n_null=30, ctrl_size=20, n_bins=10, seed=1, chunk_size=50
    )
    assert res.null.shape == (9, 2 * 30) and res.observed.shape == (9, 2)
    # observed group means equal averaging the per-cell scores (independent path)
    cells = score.score_mean_diff(lognorm, sets, ctrl_size=20, n_bins=10, seed=1)
    expected = cells.groupby(groups.to_numpy()).mean()
    np.testing.assert_allclose(
        res.observed.loc[expected.index].to_numpy(), expected.to_numpy(), atol=1e-10
    )
    assert res.n_cells.sum() == lognorm.n_obs
    # null sets are matched in size and expression bin, and avoid the set's genes
    cuts = score.scanpy_bins(score.gene_stats(lognorm).means, n_bins=10)
    pos = np.arange(15)
    for null in res.null_genes["s1"]:
        assert len(null) == 15 and not set(null) & set(pos)
        assert sorted(cuts[null]) == sorted(cuts[pos])
    # planted program (genes 0-14 up in group A): observed beats every null there
    p = score.empirical_pvalues(res.observed, res.null, sets)
    a_rows = [i for i in p.index if i.startswith("A|")]
    assert (p.loc[a_rows, "s1"] == 1 / 31).all()
    assert (p.drop(a_rows)["s1"] > 0.5).all()
    # a DataFrame of labels gives a MultiIndex; seeded and reproducible
    res2 = score.null_group_means(
        lognorm,
        sets,
        groups=lognorm.obs[["group", "sample"]],
        n_null=30,
        ctrl_size=20,
        n_bins=10,
        seed=1,
    )
    np.testing.assert_allclose(res2.null.to_numpy(), res.null.to_numpy(), atol=1e-12)
    assert res2.null.index.names == ["group", "sample"]
