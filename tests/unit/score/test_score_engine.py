import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scoring_helpers import gene_set, lognormalised
from tmesig import score, signatures, simulate


@pytest.fixture
def lognorm(planted):
    return lognormalised(planted)


def test_scores_equal_scanpy_score_genes(lognorm):
    sets = [
        gene_set("s1", [f"G{i}" for i in range(15)]),
        gene_set("s2", ["G20", "G40", "G60", "NOPE"]),
    ]
    options = score.ScoreOptions(min_coverage=0.5, ctrl_size=20, n_bins=10, seed=7)
    scores, cov = score.score_cells(lognorm, sets, options=options)
    for gs in sets:
        ref = lognorm.copy()
        genes = [g for g in gs.genes if g in ref.var_names]
        sc.tl.score_genes(ref, genes, ctrl_size=20, n_bins=10, random_state=7, score_name="ref")
        np.testing.assert_allclose(scores[gs.name].to_numpy(), ref.obs["ref"].to_numpy(), atol=1e-5)
    # the planted program (genes 0-14 up in group A) is highest in group A
    means = scores.groupby(lognorm.obs["group"].to_numpy())["s1"].mean()
    assert means.idxmax() == "A" and means["A"] - means.drop("A").max() > 1.0


def test_low_coverage_set_not_scored(lognorm):
    sets = [
        gene_set("ok", ["G0", "G1", "G2"]),
        gene_set("bad", ["G0", "X1", "X2", "X3"]),
        gene_set("pair", ["G0", "G1"]),
    ]
    scores, cov = score.score_cells(lognorm, sets, options=score.ScoreOptions(min_coverage=0.5))
    assert list(scores.columns) == ["ok"]
    assert cov.set_index("set").loc["bad", "scored"] == False  # noqa: E712
    # two genes are not a signature under the default min_genes 3; with min_genes 2 they are
    assert cov.set_index("set").loc["pair", "reason"] == "2 of 2 genes found < min_genes 3"
    two, _ = score.score_cells(lognorm, sets, options=score.ScoreOptions(min_genes=2))
    assert list(two.columns) == ["ok", "pair"]


def test_no_set_scored_gives_an_empty_frame(lognorm):
    scores, cov = score.score_cells(lognorm, [gene_set("bad", ["X1", "X2"])])
    assert scores.shape == (lognorm.n_obs, 0) and scores.index.name == "cell"
    assert not cov["scored"].any()


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
    s_b, cov_b = score.score_cells(backed, sets, options=score.ScoreOptions(chunk_size=300))
    pd.testing.assert_frame_equal(cov_mem, cov_b)
    np.testing.assert_allclose(s_b.to_numpy(), s_mem.to_numpy(), atol=1e-6)
    assert s_b.attrs["tmesig_score"]["method"] == "mean_diff"
    with pytest.raises(ValueError, match="in memory"):
        score.score_cells(backed, sets, options=score.ScoreOptions(method="scanpy"))


def test_score_cells_methods(lognorm):
    sets = [
        gene_set("s1", [f"G{i}" for i in range(15)]),
        gene_set("s2", ["G20", "G40", "G60", "NOPE"]),
    ]
    opts = score.ScoreOptions(seed=7, ctrl_size=20, n_bins=10)
    fast, _ = score.score_cells(lognorm, sets, options=opts)
    ref, _ = score.score_cells(
        lognorm, sets, options=score.ScoreOptions(method="scanpy", seed=7, ctrl_size=20, n_bins=10)
    )
    np.testing.assert_allclose(fast.to_numpy(), ref.to_numpy(), atol=1e-5)
    assert fast.dtypes.eq(np.float32).all()
    assert fast.attrs["tmesig_score"] == {
        "method": "mean_diff",
        "min_coverage": 0.5,
        "min_genes": 3,
        "ctrl_size": 20,
        "n_bins": 10,
        "seed": 7,
    }
    rank_opts = score.ScoreOptions(method="rank", max_rank=100)
    rank, _ = score.score_cells(lognorm, sets, options=rank_opts)
    assert rank.attrs["tmesig_score"] == {
        "method": "rank",
        "min_coverage": 0.5,
        "min_genes": 3,
        "max_rank": 100,
        "down_genes": [],
    }
    means = rank.groupby(lognorm.obs["group"].to_numpy())["s1"].mean()
    assert means.idxmax() == "A"
    with pytest.raises(ValueError, match="unknown scoring method"):
        score.score_cells(lognorm, sets, options=score.ScoreOptions(method="aucell"))


def test_rank_down_genes_of_unscored_sets_are_dropped(lognorm):
    sets = [gene_set("s1", [f"G{i}" for i in range(15)]), gene_set("bad", ["X1", "X2"])]
    down = {"s1": ["G20", "G21"], "bad": ["G30"]}
    opts = score.ScoreOptions(method="rank", max_rank=100, down_genes=down)
    got, _ = score.score_cells(lognorm, sets, options=opts)
    direct = score.score_rank(lognorm, sets[:1], max_rank=100, down_genes={"s1": down["s1"]})
    np.testing.assert_array_equal(got["s1"].to_numpy(), direct["s1"].to_numpy(np.float32))
    assert got.attrs["tmesig_score"]["down_genes"] == ["bad", "s1"]


def test_options_from_config_and_defaults():
    section = {
        "method": "rank",
        "max_rank": 200,
        "min_coverage": 0.4,
        "min_genes": 2,
        "ctrl_size": 30,
        "n_bins": 20,
        "seed": 3,
    }
    opts = score.ScoreOptions.from_config(section)
    assert (opts.method, opts.max_rank, opts.min_coverage) == ("rank", 200, 0.4)
    assert (opts.ctrl_size, opts.n_bins, opts.seed, opts.min_genes) == (30, 20, 3, 2)
    default = score.ScoreOptions()
    assert (default.method, default.min_coverage, default.max_rank) == ("mean_diff", 0.5, 1500)
    assert (default.ctrl_size, default.n_bins, default.seed, default.min_genes) == (50, 25, 0, 3)
    assert default.chunk_size == 50_000 and default.down_genes is None
    assert set(score.METHODS) == {"mean_diff", "rank", "scanpy"}
