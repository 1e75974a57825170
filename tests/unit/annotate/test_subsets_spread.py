"""Tests for label spreading and neighbour agreement (tmesig.subsets._spread)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import kneighbors_graph
from sklearn.semi_supervised import LabelSpreading
from tmesig.subsets._spread import neighbour_agreement, spread


# --------------------------------------------------------------------------------------
# label spreading: against scikit-learn's LabelSpreading; neighbour agreement by hand
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.2, 0.9])
def test_spread_matches_sklearn_label_spreading(alpha: float) -> None:
    """Unbalanced spreading equals sklearn's fixed point (row-normalised) on a kNN graph."""
    rng = np.random.default_rng(7)
    pts = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (40, 3))])
    knn = kneighbors_graph(pts, n_neighbors=6, mode="connectivity")
    graph = sp.csr_matrix(knn.maximum(knn.T))
    y = np.full(80, -1)
    y[rng.choice(40, 5, replace=False)] = 0
    y[40 + rng.choice(40, 12, replace=False)] = 1
    y[3] = 1  # a mislabelled seed: spreading (unclamped) may overturn it
    ref = LabelSpreading(kernel=lambda a, b: graph, alpha=alpha, max_iter=100_000, tol=1e-13)
    ref.fit(np.zeros((80, 1)), y)
    label, f = spread(graph, y, 2, alpha=alpha, balance=False)
    rows = f / f.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(rows, ref.label_distributions_, atol=1e-6)
    np.testing.assert_array_equal(label, ref.transduction_)
    # class-mass normalisation: each label's seeds carry mass 1 -> equals sklearn run on
    # F divided by the seed counts
    _, fb = spread(graph, y, 2, alpha=alpha, balance=True)
    counts = np.bincount(y[y >= 0], minlength=2)
    np.testing.assert_allclose(fb, f / counts[None, :], rtol=1e-8, atol=1e-12)


def test_spread_unreachable_and_alpha_zero() -> None:
    # two components: {0, 1, 2} with a seed, {3, 4} without
    graph = sp.csr_matrix(
        np.array(
            [[0, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]],
            dtype=float,
        )
    )
    y = np.array([1, -1, -1, -1, -1])
    label, f = spread(graph, y, 2, alpha=0.9, balance=True)
    assert list(label) == [1, 1, 1, -1, -1]
    assert (f[3:] == 0).all()
    # alpha = 0: seeds keep their own label, nothing spreads
    label0, f0 = spread(graph, y, 2, alpha=0.0, balance=False)
    assert list(label0) == [1, -1, -1, -1, -1]
    assert f0[0, 1] == pytest.approx(1.0)


def test_neighbour_agreement_hand_count() -> None:
    # cell 0 has neighbours 1 (w 1, label 0), 2 (w 2, label 1), 3 (w 1, label 1), 4 (unlabelled)
    dense = np.zeros((5, 5))
    for j, w in ((1, 1.0), (2, 2.0), (3, 1.0), (4, 5.0)):
        dense[0, j] = dense[j, 0] = w
    label = np.array([1, 0, 1, 1, -1])
    got = neighbour_agreement(sp.csr_matrix(dense), label, 2)
    # cell 0: own (1) votes 3, other (0) votes 1 -> (3 - 1) / 3
    assert got[0] == pytest.approx(2 / 3)
    # cell 1 (label 0): only neighbour 0 has label 1 -> prefers another label -> 0
    assert got[1] == 0.0
    # cell 2 (label 1): neighbour 0 label 1 -> (2 - 0) / 2 = 1
    assert got[2] == pytest.approx(1.0)
    # unlabelled cell 4 -> 0
    assert got[4] == 0.0
