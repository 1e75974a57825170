"""tmesig.score._scatter: blocks of cells scored separately equal the unsplit scores."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scoring_helpers import gene_set, lognormalised
from tmesig import score
from tmesig.io import InputError

#: Sets on the planted programmes (genes 0-14 up in group A, 15-29 in B, 30-44 in C) and a
#: set mixing them with background genes.
SETS = [
    gene_set("a_prog", [f"G{i}" for i in range(15)]),
    gene_set("b_prog", [f"G{i}" for i in range(15, 30)]),
    gene_set("mixed", ["G3", "G33", "G100", "G200", "G250", "NOPE"]),
    gene_set("pair", ["G0", "G1"]),  # too few genes: not scored, in every block alike
]
SETS_SCORED = ["a_prog", "b_prog", "mixed"]
OPTS = {
    "mean_diff": score.ScoreOptions(ctrl_size=20, n_bins=10, seed=3, chunk_size=50),
    "rank": score.ScoreOptions(method="rank", max_rank=100, chunk_size=50),
}


@pytest.fixture(scope="module")
def lognorm():
    from conftest import planted_counts

    # cells ordered by group (A, then B, then C): a block holds one group, whose gene means
    # are far from the dataset's, so block-local statistics would pick other control genes
    return lognormalised(planted_counts(n_per_group=70))


def _blocks(adata, plan, stats, opts):
    return [
        score.score_cells(adata[r.start : r.stop], SETS, options=opts, stats=stats)[0]
        for r in plan.itertuples(index=False)
    ]


@pytest.mark.parametrize(
    ("n_cells", "min_cells", "chunk", "method", "bounds"),
    [
        (210, 100, 70, "mean_diff", [(0, 70), (70, 140), (140, 210)]),
        (210, 100, 100, "rank", [(0, 100), (100, 200), (200, 210)]),
        (99, 100, 10, "mean_diff", [(0, 99)]),  # under the threshold: one job
        (210, 100, 70, "scanpy", [(0, 210)]),  # the in-memory reference is never split
        (0, 1, 10, "mean_diff", []),
    ],
)
def test_chunk_plan_by_hand(n_cells, min_cells, chunk, method, bounds):
    opts = score.ScatterOptions(min_cells=min_cells, chunk_cells=chunk)
    plan = score.chunk_plan(n_cells, options=opts, method=method)
    assert list(zip(plan["start"], plan["stop"], strict=True)) == bounds
    assert plan["chunk"].tolist() == list(range(len(bounds)))


def test_scatter_options_from_config_and_checks():
    assert score.ScatterOptions.from_config({"min_cells": 5, "chunk_cells": 2}) == (
        score.ScatterOptions(min_cells=5, chunk_cells=2)
    )
    assert score.ScatterOptions.from_config({}) == score.ScatterOptions(200_000, 100_000)
    with pytest.raises(InputError, match="positive"):
        score.chunk_plan(10, options=score.ScatterOptions(min_cells=1, chunk_cells=0))


@pytest.mark.parametrize("method", ["mean_diff", "rank"])
def test_blocks_with_global_stats_equal_unsplit(lognorm, method):
    opts = OPTS[method]
    whole, cov = score.score_cells(lognorm, SETS, options=opts)
    stats = score.gene_stats(lognorm)
    plan = score.chunk_plan(
        lognorm.n_obs, options=score.ScatterOptions(min_cells=1, chunk_cells=70), method=method
    )
    assert len(plan) == 3
    joined = score.gather_scores(_blocks(lognorm, plan, stats, opts), plan=plan)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)  # bit for bit
    assert list(joined.columns) == cov.loc[cov["scored"], "set"].tolist() == SETS_SCORED
    assert joined.index.name == "cell" and joined.attrs == {}


def test_block_local_statistics_would_differ(lognorm):
    """The reason for the global pass: each block's own gene means bin genes differently."""
    opts = OPTS["mean_diff"]
    whole, _ = score.score_cells(lognorm, SETS, options=opts)
    local = [score.score_cells(lognorm[s : s + 70], SETS, options=opts)[0] for s in (0, 70, 140)]
    diff = np.abs(pd.concat(local).to_numpy() - whole.to_numpy()).max()
    assert diff > 1e-3


def test_backed_blocks_equal_in_memory_unsplit(lognorm, tmp_path):
    opts = OPTS["mean_diff"]
    whole, _ = score.score_cells(lognorm, SETS, options=opts)
    path = tmp_path / "clustered.h5ad"
    lognorm.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    assert score.count_cells(path) == lognorm.n_obs
    stats = score.gene_stats(backed, chunk_size=opts.chunk_size)
    score.save_gene_stats(stats, tmp_path / "stats.npz", var_names=backed.var_names)
    loaded = score.load_gene_stats(tmp_path / "stats.npz", var_names=lognorm.var_names)
    np.testing.assert_array_equal(loaded.means, score.gene_stats(lognorm).means)
    assert loaded.n_cells == lognorm.n_obs
    plan = score.chunk_plan(210, options=score.ScatterOptions(min_cells=1, chunk_cells=64))
    joined = score.gather_scores(_blocks(backed, plan, loaded, opts), plan=plan)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)


def test_stats_of_other_genes_refused(lognorm, tmp_path):
    stats = score.gene_stats(lognorm)
    score.save_gene_stats(stats, tmp_path / "s.npz", var_names=lognorm.var_names)
    with pytest.raises(InputError, match="other genes"):
        score.load_gene_stats(tmp_path / "s.npz", var_names=lognorm.var_names[::-1])
    with pytest.raises(ValueError, match="one value per gene"):
        score.score_cells(lognorm[:, :100], SETS, stats=stats)


def test_gather_refuses_blocks_not_of_the_plan(lognorm):
    plan = score.chunk_plan(210, options=score.ScatterOptions(min_cells=1, chunk_cells=70))
    blocks = _blocks(lognorm, plan, score.gene_stats(lognorm), OPTS["mean_diff"])
    with pytest.raises(InputError, match="blocks of scores for a plan of 3"):
        score.gather_scores(blocks[:2], plan=plan)
    with pytest.raises(InputError, match="block 1 has 69 cells"):
        score.gather_scores([blocks[0], blocks[1].iloc[1:], blocks[2]], plan=plan)


def test_read_plan_checks_the_table(tmp_path):
    plan = score.chunk_plan(25, options=score.ScatterOptions(min_cells=1, chunk_cells=10))
    plan.to_csv(tmp_path / "plan.tsv", sep="\t", index=False)
    pd.testing.assert_frame_equal(score.read_plan(tmp_path / "plan.tsv"), plan)
    plan.iloc[[0, 2, 1]].to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="not a scoring plan"):
        score.read_plan(tmp_path / "bad.tsv")


def test_gather_inputs_by_plan(tmp_path):
    from tmesig.workflow_paths import WorkflowPaths

    paths = WorkflowPaths(datasets=("d",))
    one = tmp_path / "one.tsv"
    score.chunk_plan(5).to_csv(one, sep="\t", index=False)
    assert score.gather_inputs(str(one), paths=paths, dataset="d") == {
        "h5ad": "results/d/clustered.h5ad"
    }
    two = tmp_path / "two.tsv"
    opts = score.ScatterOptions(min_cells=1, chunk_cells=3)
    score.chunk_plan(5, options=opts).to_csv(two, sep="\t", index=False)
    assert score.gather_inputs(str(two), paths=paths, dataset="d") == {
        "plan": str(two),
        "coverage": "results/d/score/coverage.tsv",
        "chunks": ["results/d/score/chunk_0.parquet", "results/d/score/chunk_1.parquet"],
    }


def test_no_plan_has_more_than_max_jobs():
    from tmesig.score._scatter import MAX_JOBS

    chunk_plan, ScatterOptions = score.chunk_plan, score.ScatterOptions
    plan = chunk_plan(1_000_000, options=ScatterOptions(min_cells=1, chunk_cells=1))
    assert len(plan) == MAX_JOBS == 1000  # blocks of 1,000 cells, not a million jobs
    assert (plan["stop"] - plan["start"]).eq(1000).all() and plan["stop"].iloc[-1] == 1_000_000
    odd = chunk_plan(1_000_001, options=ScatterOptions(min_cells=1, chunk_cells=1))
    assert len(odd) <= MAX_JOBS and odd["stop"].iloc[-1] == 1_000_001
    # a plan within the bound is unchanged
    assert len(chunk_plan(5000, options=ScatterOptions(min_cells=1, chunk_cells=10))) == 500
