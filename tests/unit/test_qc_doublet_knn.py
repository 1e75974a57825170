"""Scrublet with exact neighbours (tmesig.qc._doublets._scrublet) on planted doublets."""

from unittest.mock import patch

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import KNeighborsTransformer
from tmesig.qc._doublets import _scrublet


def _cells_with_planted_doublets(seed=0):
    """Three cell types (1,000 cells each, 100 own marker genes) and 90 doublets, each the sum
    of two cells of different types (3,090 cells: scanpy's default kNN would be approximate)."""
    rng = np.random.default_rng(seed)
    n_genes, n_type = 1500, 1000
    base = rng.gamma(0.6, 1.0, n_genes)
    profiles = []
    for t in range(3):
        p = base.copy()
        p[t * 100 : (t + 1) * 100] *= 25
        profiles.append(p / p.sum())
    cells = [rng.poisson(2000 * profiles[t], (n_type, n_genes)) for t in range(3)]
    singlets = np.vstack(cells)
    a, b = rng.integers(0, n_type, 90), rng.integers(0, n_type, 90)
    pairs = [(0, 1), (1, 2), (0, 2)]
    doublets = np.vstack(
        [cells[pairs[i % 3][0]][a[i]] + cells[pairs[i % 3][1]][b[i]] for i in range(90)]
    )
    x = sp.csr_matrix(np.vstack([singlets, doublets]).astype(np.float32))
    truth = np.r_[np.zeros(len(singlets), bool), np.ones(90, bool)]
    return x, truth


def test_exact_neighbours_find_the_planted_doublets():
    x, truth = _cells_with_planted_doublets()
    names = pd.Index([f"c{i}" for i in range(x.shape[0])])
    with patch("sklearn.neighbors.KNeighborsTransformer", wraps=KNeighborsTransformer) as knn:
        score, called, threshold = _scrublet(x, names, 0)
    assert knn.call_count >= 1  # scikit-learn's exact search, not pynndescent
    assert roc_auc_score(truth, score.to_numpy()) >= 0.95
    # most planted doublets called, few singlets
    assert called[truth].mean() >= 0.5 and called[~truth].mean() <= 0.02
    assert list(score.index) == list(names) and 0 < threshold < 1
    # the calls are the scores above the part's own threshold
    np.testing.assert_array_equal(called.to_numpy(), score.to_numpy() > threshold)
    # exact: the same scores when run again
    again, _, _ = _scrublet(x, names, 0)
    np.testing.assert_array_equal(again.to_numpy(), score.to_numpy())
