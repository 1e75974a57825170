"""kNN graphs without pynndescent's query index: the same graph, the index step restored."""

import anndata as ad
import numpy as np
import pynndescent
import scanpy as sc
from tmesig.cluster import graph_only


def _graph(x: np.ndarray):
    a = ad.AnnData(X=x)
    sc.pp.neighbors(a, n_neighbors=10, use_rep="X", transformer="pynndescent", random_state=0)
    return a.obsp["distances"], a.obsp["connectivities"]


def test_graph_only_gives_the_same_graph_and_restores_the_index_step():
    x = np.random.default_rng(0).normal(size=(600, 8)).astype(np.float32)
    x[:300] += 3.0  # two groups
    before = pynndescent.NNDescent.compress_index
    d0, c0 = _graph(x)
    with graph_only():
        assert pynndescent.NNDescent.compress_index is not before
        pynndescent.NNDescent.compress_index(None)  # a no-op inside the block
        d1, c1 = _graph(x)
    assert pynndescent.NNDescent.compress_index is before
    assert (d0 != d1).nnz == 0 and (c0 != c1).nnz == 0
    # the reference: exact neighbours agree with (nearly) every approximate one
    exact = ad.AnnData(X=x)
    sc.pp.neighbors(exact, n_neighbors=10, use_rep="X", transformer="sklearn")
    same = (exact.obsp["distances"] > 0).multiply(d1 > 0).sum() / (d1 > 0).sum()
    assert same > 0.85  # 0.90 on these seeded points
