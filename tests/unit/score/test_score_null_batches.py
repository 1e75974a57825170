"""Further null sets drawn from the per-group profile (tmesig.score.NullSampler)."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from conftest import planted_counts
from scipy import stats
from scoring_helpers import gene_set, lognormalised
from tmesig import score
from tmesig.score._null import _sparse_weights
from tmesig.score._null_batches import _subsets

SETS = [
    gene_set("s1", [f"G{i}" for i in range(15)]),
    gene_set("s2", [f"G{i}" for i in range(100, 110)]),
]
OPTS = score.ScoreOptions(ctrl_size=20, n_bins=10, seed=3, chunk_size=70)


@pytest.fixture(scope="module")
def data():
    a = lognormalised(planted_counts(n_genes=400, seed=5))
    groups = a.obs[["group", "sample"]]
    nulls = score.null_group_means(a, SETS, groups=groups, n_null=20, options=OPTS)
    return a, groups, nulls


def test_profile_means_equal_cell_scores_averaged_per_group(data):
    """Linearity: a null set's group means from the profile are exactly the group means of
    its per-cell scores computed from the matrix (independent path), and equal the product
    null_group_means uses (its sparse weights) on the same drawn sets."""
    a, groups, nulls = data
    x = a.X.toarray().astype(np.float64)
    key = pd.MultiIndex.from_frame(groups.astype(str))
    for name, batch in (("s1", 1), ("s2", 2), ("s1", 7)):
        means = nulls.sampler.means(name, batch, 6)
        null, ctrl, keep = nulls.sampler.draw(name, batch, 6)
        cols = []
        for r in range(6):
            cells = x[:, null[r]].mean(axis=1) - x[:, ctrl[r][keep[r]]].mean(axis=1)
            ref = pd.Series(cells, index=key).groupby(level=[0, 1]).mean()
            np.testing.assert_allclose(means[r].to_numpy(), ref.loc[means.index], atol=1e-10)
            cols.append((null[r], ctrl[r][keep[r]]))
        w = _sparse_weights(cols, a.n_vars)
        via_ngm = np.asarray((w.T @ nulls.profile.to_numpy().T).T)
        np.testing.assert_allclose(means.to_numpy(), via_ngm, atol=1e-10)


def test_draws_are_matched_like_the_first_batch(data):
    a, _, nulls = data
    cuts = score.scanpy_bins(score.gene_stats(a).means, n_bins=10)
    pos = np.arange(15)
    null, ctrl, keep = nulls.sampler.draw("s1", 1, 200)
    first = nulls.null_genes["s1"][0]
    for r in range(200):
        assert len(set(null[r])) == 15 and not set(null[r]) & set(pos)
        assert sorted(cuts[null[r]]) == sorted(cuts[pos]) == sorted(cuts[first])
        kept = ctrl[r][keep[r]]
        assert not set(kept) & set(null[r]) and len(set(ctrl[r])) == len(ctrl[r])
        # scanpy's controls: ctrl_size genes of each of the set's bins (all of a smaller bin)
        for cut in np.unique(cuts[pos]):
            expected = min(20, int((cuts == cut).sum()))
            assert int((cuts[ctrl[r]] == cut).sum()) == expected
    # null genes come from the same candidates as the first batch's (the set's bins less
    # its genes), every candidate of a bin equally often (chi-square per bin)
    cands = np.setdiff1d(np.flatnonzero(np.isin(cuts, cuts[pos])), pos)
    assert set(np.concatenate(nulls.null_genes["s1"])) <= set(cands)
    counts = np.bincount(null.ravel(), minlength=a.n_vars)
    assert set(np.flatnonzero(counts)) <= set(cands)
    for cut in np.unique(cuts[pos]):
        in_bin = cands[cuts[cands] == cut]
        if len(in_bin) > 1:
            assert stats.chisquare(counts[in_bin]).pvalue > 1e-4


def test_batches_are_seeded_by_seed_set_and_batch(data):
    a, groups, nulls = data
    n1 = nulls.sampler.draw("s1", 2, 50)[0]
    again = score.null_group_means(a, SETS[::-1], groups=groups, n_null=5, options=OPTS)
    np.testing.assert_array_equal(again.sampler.draw("s1", 2, 50)[0], n1)  # order of sets
    assert not np.array_equal(nulls.sampler.draw("s1", 3, 50)[0], n1)  # another batch
    other = score.null_group_means(
        a, SETS, groups=groups, n_null=5, options=score.ScoreOptions(ctrl_size=20, n_bins=10)
    )
    assert not np.array_equal(other.sampler.draw("s1", 2, 50)[0], n1)  # another seed


def test_subsets_are_uniform():
    """Floyd's algorithm: each of the C(6, 2) = 15 subsets equally likely (chi-square)."""
    rng = np.random.default_rng(0)
    draws = np.sort(_subsets(rng, 6, 2, 30_000), axis=1)
    assert (draws[:, 0] < draws[:, 1]).all()  # no repeated element
    counts = pd.Series(map(tuple, draws)).value_counts()
    assert set(counts.index) == set(combinations(range(6), 2))
    assert stats.chisquare(counts.to_numpy()).pvalue > 0.001
    np.testing.assert_array_equal(_subsets(rng, 3, 5, 2), [[0, 1, 2], [0, 1, 2]])
