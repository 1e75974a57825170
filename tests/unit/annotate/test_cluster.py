import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from tmesig import cluster


def _lognorm(a, *, target_sum=1e4):
    """Log-normalised X as the stage gives cluster() (scanpy: normalize_total + log1p)."""
    a = a.copy()
    sc.pp.normalize_total(a, target_sum=target_sum)
    sc.pp.log1p(a)
    return a


def test_planted_groups_recovered_and_x_left_unchanged(planted):
    a = _lognorm(planted)
    before = a.X.copy()
    cluster.cluster(a, n_hvg=200, n_pcs=10, n_neighbors=10, resolution=0.3, seed=0)
    assert adjusted_rand_score(a.obs["group"], a.obs["leiden"]) > 0.95
    assert abs(a.X - before).max() == 0  # cluster() does not normalise again
    assert a.obsm["X_umap"].shape == (a.n_obs, 2)
    # small data: no sketch, every cell in the graph
    assert a.obs["in_sketch"].all() and a.uns["tmesig_cluster"]["sketch"]["method"] == "none"


def test_same_seed_same_result(planted):
    a, b = _lognorm(planted), _lognorm(planted)
    cluster.cluster(a, n_hvg=200, n_pcs=10, resolution=1.0, seed=3)
    cluster.cluster(b, n_hvg=200, n_pcs=10, resolution=1.0, seed=3)
    assert (a.obs["leiden"] == b.obs["leiden"]).all()
    np.testing.assert_array_equal(a.obsm["X_umap"], b.obsm["X_umap"])


def test_harmony_integration_runs_on_batches(planted):
    a = _lognorm(planted)
    cluster.cluster(a, n_hvg=200, n_pcs=10, resolution=0.3, batch_key="sample", seed=0)
    assert "X_pca_harmony" in a.obsm
    assert adjusted_rand_score(a.obs["group"], a.obs["leiden"]) > 0.9


def test_cluster_input_modes():
    """normalised: X used as given; panel: every gene for the PCA, <= one PC per 10 genes."""
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
    assert b.uns["tmesig_cluster"]["input_mode"] == "normalised"
    store_input_mode(a, "panel")
    a = _lognorm(a, target_sum=None)  # panel: scaled to the median total
    cluster.cluster(a, n_hvg=2000, n_pcs=30, seed=0)
    info = a.uns["tmesig_cluster"]
    assert a.var["highly_variable"].all() and info["n_pcs"] == 12  # 120 genes // 10
    assert info["input_mode"] == "panel"
    groups = pd.crosstab(a.obs["leiden"], a.obs["group"])
    assert (groups.max(axis=1) / groups.sum(axis=1)).min() > 0.9  # planted groups recovered
