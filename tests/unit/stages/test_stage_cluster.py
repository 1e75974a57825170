"""Stage ``cluster`` (tmesig.stages.cluster): reads qc.h5ad, writes clustered.h5ad."""

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from tmesig import cluster
from tmesig.stages import StageIO
from tmesig.stages import cluster as stage

PARAMS = {
    "n_hvg": 200,
    "n_pcs": 10,
    "n_neighbors": 10,
    "resolution": 0.3,
    "batch_key": None,
    "seed": 0,
}


def test_cluster_stage_writes_clustered_h5ad(planted, tmp_path):
    qc = tmp_path / "qc.h5ad"
    planted.write_h5ad(qc)
    out = tmp_path / "clustered.h5ad"
    io = StageIO(input={"h5ad": str(qc)}, output={"h5ad": str(out)}, params={"cluster": PARAMS})
    summary = stage.run(io)
    got = ad.read_h5ad(out)
    assert summary == f"{got.obs['leiden'].nunique()} Leiden clusters"
    assert adjusted_rand_score(got.obs["group"], got.obs["leiden"]) > 0.95
    assert got.obsm["X_umap"].shape == (got.n_obs, 2)
    assert got.uns["tmesig_cluster"]["n_pcs"] == 10
    # the same as the package call
    ref = planted.copy()
    cluster.cluster(ref, **PARAMS)
    pd.testing.assert_series_equal(got.obs["leiden"], ref.obs["leiden"])
    np.testing.assert_array_equal(got.obsm["X_umap"], ref.obsm["X_umap"])
