import numpy as np
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
