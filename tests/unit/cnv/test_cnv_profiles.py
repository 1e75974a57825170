"""tmesig.cnv.cnv_profiles: infercnvpy's profiles, in this process when there is one job."""

import anndata as ad
import numpy as np
import pytest
from conftest import planted_cnv
from infercnvpy.tl import _infercnv as impl
from tmesig.cnv import CnvOptions, add_gene_positions, cnv_profiles
from tmesig.cnv import _profiles as tmesig_profiles
from tmesig.cnv._profiles import kept_windows_mean
from tmesig.cnv._signal import loo_cluster_corr

GROUPS = {"T_NK": 60, "myeloid": 40, "tumour": 50}


def _profiles(n_jobs: int) -> np.ndarray:
    adata, _ = planted_cnv(0, groups=GROUPS)
    add_gene_positions(adata)
    ref = (adata.obs["lineage"] != "epithelial").to_numpy()
    opts = CnvOptions(n_jobs=n_jobs, chunksize=40)  # several chunks
    cnv_profiles(adata, ref, reference_groups=adata.obs["lineage"], options=opts)
    return adata.obsm["X_cnv"].toarray()


def test_one_job_runs_in_process_with_the_worker_pool_profiles(monkeypatch):
    pooled = _profiles(n_jobs=2)  # infercnvpy's own worker processes
    assert np.abs(pooled).max() > 0

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(impl, "process_map", no_pool)
    in_process = _profiles(n_jobs=1)
    np.testing.assert_array_equal(in_process, pooled)
    assert impl.process_map is no_pool  # restored after the run
    with pytest.raises(AssertionError, match="worker"):
        _profiles(n_jobs=2)


def test_leave_one_out_correlation_in_row_chunks_is_the_hand_pearson():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 30))
    codes = np.repeat([0, 1, 2], [24, 25, 1])  # a singleton: NaN
    got = loo_cluster_corr(x, codes, chunk=7)  # clusters split over several chunks
    for i in (0, 23, 24, 48):
        rows = np.flatnonzero(codes == codes[i])
        others = x[rows[rows != i]].mean(axis=0)
        assert got[i] == pytest.approx(np.corrcoef(x[i], others)[0, 1], abs=1e-12)
    assert np.isnan(got[49])
    np.testing.assert_array_equal(got, loo_cluster_corr(x, codes, chunk=1000))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("genes", "n", "step"), [(1500, 100, 10), (333, 17, 3), (250, 100, 1)])
def test_kept_windows_are_infercnvpys_running_mean_bit_for_bit(dtype, genes, n, step):
    rng = np.random.default_rng(genes + n)
    x = np.clip(rng.normal(size=(200, genes)), -3, 3).astype(dtype)
    x[rng.random(x.shape) < 0.6] = 0  # mostly zero, as after the reference bounds
    ref, _ = impl._running_mean(x, n=n, step=step, gene_list=np.arange(genes))
    got = kept_windows_mean(x, n=n, step=step)
    assert got.dtype == ref.dtype == np.float64
    np.testing.assert_array_equal(got, ref)  # identical, not close
    # by hand: window j = the pyramid-weighted mean of genes j*step .. j*step + n - 1
    w = np.minimum(np.arange(1, n + 1), np.arange(n, 0, -1))
    j = (genes - n) // step
    seg = x[:, j * step : j * step + n].astype(float)
    np.testing.assert_allclose(got[:, j], seg @ w / w.sum(), rtol=1e-12, atol=1e-15)


def test_profiles_with_kept_windows_only_are_infercnvpys(monkeypatch):
    kept, calls = [], []

    def counted(*args, **kwargs):
        kept.append(1)
        return kept_windows_mean(*args, **kwargs)

    monkeypatch.setattr(tmesig_profiles, "kept_windows_mean", counted)
    fast = _profiles(n_jobs=1)
    assert kept  # the kept windows only were smoothed

    def plain(*args, **kwargs):  # infercnvpy's smoothing, every window convolved
        calls.append(1)
        return original(*args, **kwargs)

    original = impl._running_mean
    monkeypatch.setattr(tmesig_profiles, "_fast_running_mean", lambda fn: plain)
    slow = _profiles(n_jobs=1)
    assert calls  # the plain smoothing ran
    np.testing.assert_array_equal(fast, slow)
    assert impl._running_mean is original  # restored after the run


def test_small_kernels_and_a_differing_probe_fall_back_to_infercnvpy(monkeypatch):
    x = np.random.default_rng(3).normal(size=(20, 300))
    original = impl._running_mean
    smooth = tmesig_profiles._fast_running_mean(original)
    # numpy convolves kernels of up to 11 with its own loop: infercnvpy's numbers
    genes = np.arange(300)
    np.testing.assert_array_equal(
        smooth(x, n=7, step=3, gene_list=genes)[0], original(x, n=7, step=3, gene_list=genes)[0]
    )
    monkeypatch.setattr(tmesig_profiles, "kept_windows_mean", lambda x, **kw: np.zeros((20, 21)))
    np.testing.assert_array_equal(
        smooth(x, n=100, step=10, gene_list=genes)[0],
        original(x, n=100, step=10, gene_list=genes)[0],
    )


def test_cnv_clusters_build_the_knn_graph_through_the_one_knn_call(monkeypatch):
    import tmesig.cluster
    from tmesig.cnv._signal import _cnv_clusters

    seen = []
    real = tmesig.cluster.knn_graph

    def spy(adata, **kwargs):  # the project's one kNN call (exact at this size)
        seen.append((adata.n_obs, kwargs["use_rep"], kwargs["n_neighbors"]))
        return real(adata, **kwargs)

    monkeypatch.setattr(tmesig.cluster, "knn_graph", spy)
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(m, 0.1, size=(40, 12)) for m in (0.0, 1.0)])
    adata = ad.AnnData(np.zeros((80, 1), dtype=np.float32))
    codes = _cnv_clusters(adata, x, CnvOptions())
    assert seen == [(80, "X_pca", 15)]
    # the two planted profiles are two clusters
    assert len(set(codes[:40])) == 1 and len(set(codes[40:])) == 1 and codes[0] != codes[40]


@pytest.mark.parametrize("n_windows", [60, 4001])
def test_cnv_profile_pcs_equal_arpacks(n_windows):
    """The profiles' PCs (covariance route while the windows are few) are ARPACK's PCs."""
    from sklearn.decomposition import PCA
    from tmesig.cnv._signal import _cnv_clusters

    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.05, size=(300, n_windows))
    x[:100, : n_windows // 3] += 0.4  # a planted gain in a third of the cells
    x[100:160, -n_windows // 4 :] -= 0.3
    adata = ad.AnnData(np.zeros((300, 1), dtype=np.float32))
    _cnv_clusters(adata, x, CnvOptions())
    want = PCA(n_components=30, random_state=0, svd_solver="arpack").fit_transform(x - x.mean(0))
    np.testing.assert_allclose(adata.obsm["X_cnv_pca"], want, atol=1e-8)
