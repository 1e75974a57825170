"""Panel PCA: genes scaled to unit variance, equal to scanpy's ``scale`` then ``pca``."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from tmesig.cluster._scaled_pca import scaled_pca


def _panel(seed=0, n=300, g=60):
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.gamma(0.5, 2.0, size=(1, g)) * rng.gamma(2.0, 0.5, size=(n, 1)))
    x[:, 5] = 0.0  # a gene never detected: constant, left unscaled
    a = ad.AnnData(X=sp.csr_matrix(np.log1p(x).astype(np.float32)))
    a.var_names = [f"g{i}" for i in range(g)]
    a.var["highly_variable"] = np.arange(g) % 7 != 3
    return a


@pytest.mark.parametrize("sparse", [True, False])
def test_equals_scanpy_scale_then_pca(sparse):
    a = _panel()
    if not sparse:
        a.X = a.X.toarray()
    before = a.X.copy()
    scaled_pca(a, n_comps=10, seed=0)
    ref = a[:, a.var["highly_variable"].to_numpy()].copy()
    ref.X = ref.X.toarray() if sp.issparse(ref.X) else ref.X
    sc.pp.scale(ref, zero_center=True)  # unit variance, no clipping
    sc.pp.pca(ref, n_comps=10, svd_solver="arpack", random_state=0)
    # components agree up to sign
    got, want = a.obsm["X_pca"], ref.obsm["X_pca"]
    signs = np.sign((got * want).sum(axis=0))
    np.testing.assert_allclose(got * signs, want, rtol=1e-3, atol=1e-3)
    assert a.varm["PCs"].shape == (60, 10)
    assert (a.varm["PCs"][~a.var["highly_variable"].to_numpy()] == 0).all()
    assert a.uns["pca"]["scaled"] is True
    after = a.X.toarray() if sparse else a.X
    np.testing.assert_array_equal(after, before.toarray() if sparse else before)  # X untouched


def test_cluster_scales_only_panels():
    from tmesig.cluster import cluster
    from tmesig.input_mode import store_input_mode

    base = _panel(seed=1)
    base.obs_names = [f"c{i}" for i in range(base.n_obs)]
    base.obs["sample"] = pd.Categorical(["s"] * base.n_obs)
    panel, counts = base.copy(), base.copy()
    store_input_mode(panel, "panel")
    store_input_mode(counts, "counts")
    cluster(panel, seed=0, n_pcs=10)
    cluster(counts, seed=0, n_pcs=10)
    assert panel.uns["pca"].get("scaled") is True
    assert "scaled" not in counts.uns["pca"]
