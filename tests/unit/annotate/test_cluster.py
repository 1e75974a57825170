import numpy as np
import pandas as pd
import scanpy as sc
from sklearn.metrics import adjusted_rand_score
from tmesig import cluster


def test_planted_groups_recovered_and_x_is_scanpy_lognorm(planted):
    a = planted.copy()
    cluster.cluster(a, n_hvg=200, n_pcs=10, n_neighbors=10, resolution=0.3, seed=0)
    assert adjusted_rand_score(a.obs["group"], a.obs["leiden"]) > 0.95
    ref = planted.copy()
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    np.testing.assert_allclose(a.X.toarray(), ref.X.toarray(), rtol=1e-5)
    assert a.obsm["X_umap"].shape == (a.n_obs, 2)


def test_same_seed_same_result(planted):
    a, b = planted.copy(), planted.copy()
    cluster.cluster(a, n_hvg=200, n_pcs=10, resolution=1.0, seed=3)
    cluster.cluster(b, n_hvg=200, n_pcs=10, resolution=1.0, seed=3)
    assert (a.obs["leiden"] == b.obs["leiden"]).all()
    np.testing.assert_array_equal(a.obsm["X_umap"], b.obsm["X_umap"])


def test_harmony_integration_runs_on_batches(planted):
    a = planted.copy()
    cluster.cluster(a, n_hvg=200, n_pcs=10, resolution=0.3, batch_key="sample", seed=0)
    assert "X_pca_harmony" in a.obsm
    assert adjusted_rand_score(a.obs["group"], a.obs["leiden"]) > 0.9


def test_cluster_input_modes():
    """normalised: X used as given; panel: every gene for the PCA, <= one PC per 10 genes."""
    import scipy.sparse as sp
    from conftest import planted_counts
    from tmesig.input_mode import store_input_mode

    a = planted_counts(n_per_group=40, n_genes=120)
    given = a.layers["counts"].copy()
    given.data = np.log1p(given.data)
    b = a.copy()
    del b.layers["counts"]
    b.X = given.copy()
    store_input_mode(b, "normalised")
    cluster.cluster(b, n_hvg=50, n_pcs=30, seed=0)
    assert abs(sp.csr_matrix(b.X) - given).max() < 1e-6
    assert b.uns["tmesig_cluster"]["normalisation"].startswith("none: input normalised")
    store_input_mode(a, "panel")
    cluster.cluster(a, n_hvg=2000, n_pcs=30, seed=0)
    info = a.uns["tmesig_cluster"]
    assert a.var["highly_variable"].all() and info["n_pcs"] == 12  # 120 genes // 10
    assert info["input_mode"] == "panel" and "median total" in info["normalisation"]
    # scaled to the median total: every cell's expm1(X) sums to the same median
    totals = np.asarray(np.expm1(sp.csr_matrix(a.X)).sum(axis=1)).ravel()
    median = np.median(np.asarray(a.layers["counts"].sum(axis=1)).ravel())
    assert np.allclose(totals, median, rtol=1e-4)
    groups = pd.crosstab(a.obs["leiden"], a.obs["group"])
    assert (groups.max(axis=1) / groups.sum(axis=1)).min() > 0.9  # planted groups recovered
