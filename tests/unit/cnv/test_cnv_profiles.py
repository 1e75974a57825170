"""tmesig.cnv.cnv_profiles: infercnvpy's profiles, in this process when there is one job."""

import numpy as np
import pytest
from conftest import planted_cnv
from infercnvpy.tl import _infercnv as impl
from tmesig.cnv import CnvOptions, add_gene_positions, cnv_profiles
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
