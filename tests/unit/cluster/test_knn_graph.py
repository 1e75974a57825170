"""The one kNN-graph call: exact (scikit-learn) up to ``exact_max`` cells, pynndescent above."""

import anndata as ad
import numpy as np
import pynndescent
import pytest
from sklearn.neighbors import NearestNeighbors
from tmesig.cluster import EXACT_MAX, knn_graph


def _points(n: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    x[: n // 3] += 4.0  # two groups
    return x


def _neighbour_sets(distances) -> list[set[int]]:
    d = distances.tocsr()
    return [set(d.indices[d.indptr[i] : d.indptr[i + 1]].tolist()) for i in range(d.shape[0])]


def test_exact_graph_is_the_true_k_nearest_neighbours_without_pynndescent(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pynndescent used below exact_max")

    monkeypatch.setattr(pynndescent.PyNNDescentTransformer, "fit_transform", refuse)
    x = _points(9000)  # above scanpy's own switch to pynndescent (8,192 cells)
    a = ad.AnnData(obsm={"rep": x}, obs={"i": np.arange(len(x))})
    a.obs_names = a.obs_names.astype(str)
    knn_graph(a, n_neighbors=10, use_rep="rep", seed=3)
    # the reference: scikit-learn's exact search (self excluded), 9 other cells per cell
    ref = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(x).kneighbors(x)[1][:, 1:]
    got = _neighbour_sets(a.obsp["distances"])
    agree = np.mean([len(got[i] & set(ref[i].tolist())) / 9 for i in range(len(x))])
    assert agree > 0.999  # ties aside, the same neighbours
    assert all(len(s) == 9 for s in got)
    # exact: the seed does not change the graph
    b = ad.AnnData(obsm={"rep": x})
    knn_graph(b, n_neighbors=10, use_rep="rep", seed=99)
    assert (a.obsp["connectivities"] != b.obsp["connectivities"]).nnz == 0


def test_above_exact_max_pynndescent_builds_the_graph_without_its_query_index(monkeypatch):
    original, seen = pynndescent.NNDescent.compress_index, []
    fit = pynndescent.PyNNDescentTransformer.fit_transform

    def spy(self, *args, **kwargs):
        seen.append(pynndescent.NNDescent.compress_index is not original)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(pynndescent.PyNNDescentTransformer, "fit_transform", spy)
    x = _points(9000)
    a = ad.AnnData(obsm={"rep": x})
    knn_graph(a, n_neighbors=10, use_rep="rep", seed=0, exact_max=8999)
    assert seen == [True]  # pynndescent, its index step skipped
    assert pynndescent.NNDescent.compress_index is original  # and restored
    ref = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(x).kneighbors(x)[1][:, 1:]
    got = _neighbour_sets(a.obsp["distances"])
    agree = np.mean([len(got[i] & set(ref[i].tolist())) / 9 for i in range(len(x))])
    assert 0.85 < agree < 1.0  # approximate


@pytest.mark.parametrize("n", [3, 7])
def test_k_is_capped_at_the_other_cells(n):
    a = ad.AnnData(obsm={"rep": _points(n)})
    knn_graph(a, n_neighbors=15, use_rep="rep")
    assert a.obsp["distances"].shape == (n, n)
    assert EXACT_MAX >= 100_000
