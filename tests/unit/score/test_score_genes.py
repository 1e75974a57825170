import numpy as np
import pytest
from scoring_helpers import gene_set, lognormalised
from tmesig import score
from tmesig.io import InputError


@pytest.fixture
def lognorm(planted):
    return lognormalised(planted)


def test_coverage_by_hand(lognorm):
    a = lognorm
    a.X[:, 5] = 0  # G5 present but never expressed
    a.X.eliminate_zeros()
    sets = [
        gene_set("full", ["G0", "G1", "G2", "G3"]),
        gene_set("half", ["G0", "G1", "NOPE1", "NOPE2"]),
        gene_set("quarter", ["G0", "NOPE1", "NOPE2", "NOPE3"]),
        gene_set("silent", ["G5"]),
    ]
    cov = score.coverage_table(a, sets, min_coverage=0.5, min_genes=1).set_index("set")
    assert cov.loc["full", ["n_genes", "n_found", "n_expressed"]].tolist() == [4, 4, 4]
    assert cov.loc["half", "fraction"] == 0.5 and cov.loc["half", "scored"]
    assert cov.loc["half", "genes_missing"] == "NOPE1,NOPE2"
    assert not cov.loc["quarter", "scored"] and "coverage 0.25" in cov.loc["quarter", "reason"]
    assert not cov.loc["silent", "scored"] and "expressed" in cov.loc["silent", "reason"]
    three = score.coverage_table(a, sets, min_coverage=0.5).set_index("set")  # default 3
    assert three.loc["silent", "reason"] == "1 of 1 genes found < min_genes 3"
    assert three.loc["half", "reason"] == "2 of 4 genes found < min_genes 3"


# found / in set -> (scored, reason) with min_coverage 0.5 and min_genes 3, by hand
HAND = {
    (1, 2): (False, "1 of 2 genes found < min_genes 3"),
    (1, 3): (False, "1 of 3 genes found < min_genes 3; coverage 0.33 < min_coverage 0.50"),
    (2, 2): (False, "2 of 2 genes found < min_genes 3"),
    (2, 3): (False, "2 of 3 genes found < min_genes 3"),
    (3, 3): (True, ""),
    (3, 10): (False, "coverage 0.30 < min_coverage 0.50"),
    (5, 10): (True, ""),
    (0, 4): (False, "0 of 4 genes found < min_genes 3; coverage 0.00 < min_coverage 0.50"),
}


def test_min_genes_and_coverage_against_a_hand_table(lognorm):
    sets = [
        gene_set(f"s{k}_{n}", [f"G{i}" for i in range(k)] + [f"NOPE{i}" for i in range(n - k)])
        for k, n in HAND
    ]
    cov = score.coverage_table(lognorm, sets, min_coverage=0.5, min_genes=3).set_index("set")
    for (k, n), (scored, reason) in HAND.items():
        row = cov.loc[f"s{k}_{n}"]
        assert (row["n_found"], row["n_genes"]) == (k, n)
        assert (bool(row["scored"]), row["reason"]) == (scored, reason), (k, n)
    scores, _ = score.score_cells(lognorm, sets, options=score.ScoreOptions(min_genes=3))
    assert sorted(scores.columns) == ["s3_3", "s5_10"]


def test_gene_stats_sparse_and_dense_agree(lognorm):
    sparse = score.gene_stats(lognorm, chunk_size=37)
    dense = lognorm.copy()
    dense.X = dense.X.toarray()
    ref = score.gene_stats(dense)
    np.testing.assert_allclose(sparse.means, ref.means, rtol=1e-4)
    np.testing.assert_array_equal(sparse.n_nonzero, ref.n_nonzero)
    assert sparse.n_cells == ref.n_cells == lognorm.n_obs


def test_bad_input_is_an_input_error(lognorm):
    """NaN values, duplicated genes and too few genes for the bins are the user's input."""
    nan = lognorm.copy()
    nan.X.data[0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        score.gene_stats(nan)
    dup = lognorm.copy()
    dup.var_names = ["G0"] * 2 + list(dup.var_names[2:])
    with pytest.raises(InputError, match="duplicated"):
        score.score_mean_diff(dup, [gene_set("s", ["G0"])])
    with pytest.raises(InputError, match="n_bins"):
        score.scanpy_bins(np.arange(10.0), n_bins=1)
    with pytest.raises(InputError, match="expression bins"):
        score.scanpy_bins(np.arange(3.0), n_bins=25)


def test_control_genes_avoid_the_set_and_follow_its_bins(lognorm):
    cuts = score.scanpy_bins(score.gene_stats(lognorm).means, n_bins=10)
    pos = np.arange(15)
    ctrl = score.scanpy_control_genes(pos, cuts, ctrl_size=5, seed=3)
    assert not set(ctrl) & set(pos)
    assert set(cuts[ctrl]) <= set(cuts[pos])
    np.testing.assert_array_equal(ctrl, score.scanpy_control_genes(pos, cuts, ctrl_size=5, seed=3))
