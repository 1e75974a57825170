import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import mannwhitneyu, rankdata
from scoring_helpers import gene_set, lognormalised
from tmesig import score
from tmesig.io import InputError


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
    sets = [gene_set(f"s{k}", [f"G{i}" for i in idx]) for k, idx in enumerate(idx_sets)]
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
    ln = lognormalised(a)
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
    with pytest.raises(InputError, match="negative"):
        score.score_rank(neg, sets)
    with pytest.raises(ValueError, match="unknown set"):
        score.score_rank(a, sets[:1], down_genes={"nope": ["G1"]})
    with pytest.raises(ValueError, match="max_rank"):
        score.score_rank(a, sets, max_rank=0)
