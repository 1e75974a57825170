"""Stage ``cluster`` (tmesig.stages.cluster): the QC-kept cells of ingested.h5ad (qc_metrics.tsv
``kept``) -> clustered.h5ad storing the kept counts once, log-normalised when read."""

import json

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score
from tmesig import cluster
from tmesig.io.expression import normalise_in_place, read_expression
from tmesig.stages import StageIO
from tmesig.stages import cluster as stage
from tmesig.stages import umap as umap_stage

PARAMS = {
    "n_hvg": 200,
    "n_pcs": 10,
    "n_neighbors": 10,
    "resolution": 0.3,
    "batch_key": None,
    "seed": 0,
}


def _ingested(planted, tmp_path, mode="counts"):
    """ingested.h5ad (counts in X only), qc_metrics.tsv dropping every 9th cell, and the
    old path's qc.h5ad (kept cells, genes seen in >= 3 of them, counts layer) as reference."""
    a = planted.copy()
    x = a.X.tolil()
    x[:, 290:] = 0
    x[:2, 290:] = 4  # genes 290.. detected in 2 cells: dropped by min_cells_per_gene = 3
    a.X = sp.csr_matrix(x, dtype=np.float32)
    del a.layers["counts"]
    a.uns["tmesig_ingest"] = json.dumps({"input_mode": mode, "genes": a.n_vars})
    path = tmp_path / "ingested.h5ad"
    a.write_h5ad(path)
    kept = np.arange(a.n_obs) % 9 != 4
    metrics = pd.DataFrame(
        {
            "sample": a.obs["sample"],
            "total_counts": np.asarray(a.X.sum(axis=1)).ravel(),
            "n_genes": np.diff(a.X.indptr),
            "pct_mito": np.nan,
            "doublet_score": 0.25,
            "kept": kept,
        },
        index=pd.Index(a.obs_names, name="cell"),
    )
    metrics.to_csv(tmp_path / "qc_metrics.tsv", sep="\t")
    ref = a[kept].copy()
    genes = np.diff(sp.csc_matrix(ref.X).indptr) >= 3
    ref = ref[:, genes].copy()
    ref.layers["counts"] = ref.X.copy()
    ref.uns["tmesig_input_mode"] = mode
    return path, ref


def _run(path, tmp_path, mode="auto"):
    out = tmp_path / "clustered.h5ad"
    io = StageIO(
        input={"h5ad": str(path), "metrics": str(tmp_path / "qc_metrics.tsv")},
        output={"h5ad": str(out)},
        params={
            "cluster": PARAMS,
            "qc": {"min_cells_per_gene": 3},
            "ingest": {"input_mode": mode},
        },
    )
    return stage.run(io), out


def _umap_stage(clustered, tmp_path) -> np.ndarray:
    """Stage ``umap`` on a written ``clustered.h5ad``: its table's coordinates, in file order."""
    out = tmp_path / "umap.tsv"
    said = umap_stage.run(StageIO(input={"h5ad": str(clustered)}, output={"umap": str(out)}))
    assert said.startswith("UMAP of ")
    table = pd.read_csv(out, sep="\t", index_col=0)
    assert list(table.columns) == ["umap_1", "umap_2"] and table.index.name == "cell"
    return table.to_numpy()


def _rounded(x: np.ndarray) -> np.ndarray:
    """Coordinates as ``umap.tsv`` writes them (``%.6g``)."""
    return np.array([[float(f"{v:.6g}") for v in row] for row in np.asarray(x, dtype=np.float64)])


def test_cluster_stage_writes_the_kept_counts_once(planted, tmp_path):
    path, ref = _ingested(planted, tmp_path)
    summary, out = _run(path, tmp_path, mode="counts")  # 300 genes: "auto" would say panel
    got = ad.read_h5ad(out)
    assert summary == f"{got.obs['leiden'].nunique()} Leiden clusters"
    assert got.n_obs == ref.n_obs == 160 and got.n_vars == ref.n_vars == 290
    assert list(got.obs_names) == list(ref.obs_names)
    # X = the stored counts of the kept cells and genes; no counts layer, no log copy
    assert (got.X != ref.layers["counts"]).nnz == 0 and got.X.dtype == np.float32
    assert len(got.layers) == 0
    with h5py.File(out, "r") as f:
        assert "layers" not in f or len(f["layers"]) == 0
    assert got.uns["tmesig_expression"]["x"] == "stored"
    assert (got.obs["doublet_score"] == 0.25).all()
    assert adjusted_rand_score(got.obs["group"], got.obs["leiden"]) > 0.95
    # the old path (qc.h5ad with a counts layer, normalised, then clustered) gives the same
    normalise_in_place(ref, mode="counts")
    cluster.cluster(ref, **PARAMS)
    pd.testing.assert_series_equal(got.obs["leiden"], ref.obs["leiden"])
    # UMAP is rule umap's: from the written file, the coordinates the in-memory path made
    assert "X_umap" not in got.obsm
    np.testing.assert_array_equal(_umap_stage(out, tmp_path), _rounded(ref.obsm["X_umap"]))
    assert got.uns["tmesig_cluster"] == ref.uns["tmesig_cluster"]
    expr = read_expression(out)
    assert np.abs(expr.X - ref.X).max() <= 1e-6


@pytest.mark.parametrize("mode", ["panel", "normalised"])
def test_cluster_stage_other_modes_match_the_old_path(planted, tmp_path, mode):
    if mode == "normalised":
        planted = planted.copy()
        planted.X = sp.csr_matrix(np.log1p(planted.X.toarray()), dtype=np.float32)
    path, ref = _ingested(planted, tmp_path, mode=mode)
    if mode == "normalised":
        del ref.layers["counts"]
    _, out = _run(path, tmp_path, mode=mode)
    normalise_in_place(ref, mode=mode)
    cluster.cluster(ref, **PARAMS)
    expr = read_expression(out)
    assert expr.uns["tmesig_input_mode"] == mode
    assert np.abs((expr.X - ref.X).toarray()).max() <= 1e-6
    pd.testing.assert_series_equal(expr.obs["leiden"], ref.obs["leiden"])


def test_cluster_stage_bytes_are_deterministic(planted, tmp_path):
    path, _ = _ingested(planted, tmp_path)
    _, out = _run(path, tmp_path, mode="counts")
    first = out.read_bytes()
    _, out = _run(path, tmp_path, mode="counts")
    assert out.read_bytes() == first
