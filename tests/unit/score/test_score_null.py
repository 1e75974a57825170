import numpy as np
import pandas as pd
import pytest
from scoring_helpers import gene_set, lognormalised
from tmesig import flag, score
from tmesig.stats import empirical_p


@pytest.fixture
def lognorm(planted):
    return lognormalised(planted)


def test_null_group_means(lognorm):
    sets = [
        gene_set("s1", [f"G{i}" for i in range(15)]),
        gene_set("s2", [f"G{i}" for i in range(100, 110)]),
    ]
    groups = lognorm.obs["group"].astype(str) + "|" + lognorm.obs["sample"].astype(str)
    opts = score.ScoreOptions(ctrl_size=20, n_bins=10, seed=1, chunk_size=50)
    res = score.null_group_means(lognorm, sets, groups=groups, n_null=30, options=opts)
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
    # (one-sided empirical p of each group's mean score, tmesig.stats.empirical_p)
    obs = res.observed["s1"].to_numpy()[:, None]
    hits = (res.null_array("s1") >= obs).sum(axis=1)
    p = pd.Series(empirical_p(hits, res.null_array("s1").shape[1]), index=res.observed.index)
    a_rows = [i for i in p.index if i.startswith("A|")]
    assert (p.loc[a_rows] == 1 / 31).all()
    assert (p.drop(a_rows) > 0.5).all()
    # a DataFrame of labels gives a MultiIndex; seeded and reproducible
    res2 = score.null_group_means(
        lognorm,
        sets,
        groups=lognorm.obs[["group", "sample"]],
        n_null=30,
        options=score.ScoreOptions(ctrl_size=20, n_bins=10, seed=1),
    )
    np.testing.assert_allclose(res2.null.to_numpy(), res.null.to_numpy(), atol=1e-12)
    assert res2.null.index.names == ["group", "sample"]
    # the real path of the empirical p (flag.null_calibration, within-sample contrasts):
    # group A's program beats every null set, the other groups are far from it
    cal = flag.null_calibration(res2, sets, min_cells=10).set_index(["compartment", "set"])
    assert cal.loc[("A", "s1"), "p_null"] == 1 / 31
    assert (cal.loc[[("B", "s1"), ("C", "s1")], "p_null"] > 0.5).all()
    assert (cal["n_null"] == 30).all()


def test_null_sets_do_not_depend_on_the_other_sets(lognorm):
    """Each set draws its nulls from its own stream (seed, set name)."""
    s1 = gene_set("s1", [f"G{i}" for i in range(15)])
    s2 = gene_set("s2", [f"G{i}" for i in range(100, 110)])
    groups = lognorm.obs["group"].astype(str)
    one = score.null_group_means(lognorm, [s1], groups=groups, n_null=5)
    two = score.null_group_means(lognorm, [s2, s1], groups=groups, n_null=5)
    for a, b in zip(one.null_genes["s1"], two.null_genes["s1"], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(one.null["s1"].to_numpy(), two.null["s1"].to_numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="n_null"):
        score.null_group_means(lognorm, [s1], groups=groups, n_null=0)
    with pytest.raises(ValueError, match="one label per cell"):
        score.null_group_means(lognorm, [s1], groups=groups.iloc[:5])
