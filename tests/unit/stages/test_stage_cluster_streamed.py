"""Stage ``cluster`` above ``sketch_above``: the matrix is never read whole (gene statistics
streamed, then only the highly variable genes' columns), with the numbers of the in-memory
path (normalise everything, select genes, PCA on the highly variable genes)."""

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import cluster
from tmesig.io import kept_cells
from tmesig.io.expression import normalise_in_place
from tmesig.stages import StageIO
from tmesig.stages import cluster as stage

PARAMS = {
    "n_hvg": 200,
    "n_pcs": 10,
    "n_neighbors": 10,
    "resolution": 0.3,
    "batch_key": None,
    "seed": 0,
    "sketch_above": 20,
    "sketch_size": 90,
    "sketch_method": "uniform",
}


def _ingested(planted, tmp_path, mode):
    """ingested.h5ad, qc_metrics.tsv dropping every 9th cell, and the in-memory reference
    (kept cells, genes seen in >= 3 of them, stored values)."""
    a = planted.copy()
    x = a.X.tolil()
    x[:2, 290:] = 4  # genes 290.. detected in 2 cells only: dropped
    x[2:, 290:] = 0
    if mode == "normalised":
        x = np.log1p(x.toarray())
    a.X = sp.csr_matrix(x, dtype=np.float32)
    del a.layers["counts"]
    a.uns["tmesig_ingest"] = json.dumps({"input_mode": mode, "genes": a.n_vars})
    path = tmp_path / "ingested.h5ad"
    a.write_h5ad(path)
    kept = np.arange(a.n_obs) % 9 != 4
    metrics = pd.DataFrame(
        {"total_counts": np.asarray(a.X.sum(axis=1)).ravel(), "kept": kept},
        index=pd.Index(a.obs_names, name="cell"),
    )
    metrics.to_csv(tmp_path / "qc_metrics.tsv", sep="\t")
    ref = a[kept].copy()
    ref = ref[:, np.diff(sp.csc_matrix(ref.X).indptr) >= 3].copy()
    return path, ref


def _run(path, tmp_path, params, mode):
    out = tmp_path / "clustered.h5ad"
    io = StageIO(
        input={"h5ad": str(path), "metrics": str(tmp_path / "qc_metrics.tsv")},
        output={"h5ad": str(out)},
        params={"cluster": params, "qc": {"min_cells_per_gene": 3}, "ingest": {"input_mode": mode}},
    )
    stage.run(io)
    return ad.read_h5ad(out)


def _reference(ref, params, mode):
    """The in-memory path: every value normalised, genes and PCA on the whole matrix."""
    normalise_in_place(ref, mode=mode)
    ref.uns["tmesig_input_mode"] = mode
    opts = {k: params[k] for k in ("n_hvg", "n_pcs", "n_neighbors", "resolution", "batch_key")}
    sketch = cluster.SketchOptions.from_config(params)
    return cluster.cluster(ref, seed=params["seed"], sketch=sketch, **opts)


def _spy(monkeypatch):
    """Forbid the whole-matrix read; keep what the PCA was given."""
    seen = {}

    def no_whole_read(*args, **kwargs):
        raise AssertionError("read_kept called on the large path")

    def spy(adata, **kwargs):
        seen["X"] = adata.X.copy()
        return real(adata, **kwargs)

    real = cluster.cluster_marked
    monkeypatch.setattr(stage, "read_kept", no_whole_read)
    monkeypatch.setattr(stage.clustering, "cluster_marked", spy)
    return seen


def _same_pca(got, ref):
    """Equal principal components up to each component's sign."""
    a, b = got.obsm["X_pca"], ref.obsm["X_pca"]
    sign = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a * sign, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["counts", "panel", "normalised"])
def test_large_path_reads_only_hvg_columns_and_matches_in_memory(
    planted, tmp_path, mode, monkeypatch
):
    path, ref = _ingested(planted, tmp_path, mode)
    seen = _spy(monkeypatch)
    got = _run(path, tmp_path, PARAMS, mode)
    ref = _reference(ref.copy(), PARAMS, mode)
    hv = ref.var["highly_variable"].to_numpy()
    assert 0 < hv.sum() < ref.n_vars  # a real selection: some columns are not read
    np.testing.assert_array_equal(got.var["highly_variable"].to_numpy(), hv)
    # what the PCA saw: the reference's values in the highly variable columns, nothing else
    x = seen["X"].tocsc()
    assert x[:, ~hv].nnz == 0
    assert (x[:, hv] != ref.X.tocsc()[:, hv]).nnz == 0
    assert seen["X"].nnz == sp.csc_matrix(ref.X)[:, hv].nnz < ref.X.nnz
    np.testing.assert_array_equal(got.obs["size_factor"], ref.obs["size_factor"])
    record = {**ref.uns["tmesig_expression"], "x": "stored"}  # json: NaN target sums compare
    assert json.dumps(dict(got.uns["tmesig_expression"]), sort_keys=True) == json.dumps(
        record, sort_keys=True
    )
    _same_pca(got, ref)
    np.testing.assert_array_equal(got.obsm["X_pca"], ref.obsm["X_pca"])  # the same numbers
    np.testing.assert_array_equal(got.varm["PCs"], ref.varm["PCs"])
    pd.testing.assert_series_equal(got.obs["leiden"], ref.obs["leiden"])
    # the sketch's UMAP is rule umap's (graph rebuilt on the sketch, the others placed)
    np.testing.assert_array_equal(cluster.umap_embedding(got), ref.obsm["X_umap"])
    assert got.uns["tmesig_cluster"] == ref.uns["tmesig_cluster"]
    assert got.uns["tmesig_cluster"]["sketch"]["method"] == "uniform"
    assert sorted(got.uns) == sorted(ref.uns) and got.uns.get("log1p") == ref.uns.get("log1p")
    for col in ("means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(got.var[col], ref.var[col], rtol=1e-9)


def test_large_path_with_a_batch_key_selects_genes_as_scanpy(planted, tmp_path, monkeypatch):
    """Per-batch statistics streamed, combined as scanpy's batched selection (obs strings
    made categorical as scanpy does); Harmony on the same components."""
    path, ref = _ingested(planted, tmp_path, "counts")
    seen = _spy(monkeypatch)
    params = {**PARAMS, "batch_key": "sample", "n_hvg": 120}
    got = _run(path, tmp_path, params, "counts")
    ref = _reference(ref.copy(), params, "counts")
    hv = ref.var["highly_variable"].to_numpy()
    assert 0 < hv.sum() < ref.n_vars
    assert sp.csc_matrix(seen["X"])[:, ~hv].nnz == 0
    pd.testing.assert_frame_equal(
        got.var[["highly_variable", "highly_variable_nbatches", "highly_variable_intersection"]],
        ref.var[["highly_variable", "highly_variable_nbatches", "highly_variable_intersection"]],
    )
    for col in ("means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(got.var[col], ref.var[col], rtol=1e-6, atol=1e-6)
    assert got.var["dispersions_norm"].dtype == ref.var["dispersions_norm"].dtype
    assert got.uns["hvg"] == ref.uns["hvg"] and got.obs["sample"].dtype == "category"
    np.testing.assert_array_equal(got.obsm["X_pca"], ref.obsm["X_pca"])
    np.testing.assert_allclose(got.obsm["X_pca_harmony"], ref.obsm["X_pca_harmony"], atol=1e-5)
    pd.testing.assert_series_equal(got.obs["leiden"], ref.obs["leiden"])


def test_scan_kept_is_read_kept_without_values(planted, tmp_path):
    path, _ = _ingested(planted, tmp_path, "counts")
    metrics = kept_cells.read_qc_metrics(tmp_path / "qc_metrics.tsv")
    whole, masks = kept_cells.read_kept(path, metrics, min_cells_per_gene=3)
    shell, scanned = kept_cells.scan_kept(path, metrics, min_cells_per_gene=3, chunk_size=7)
    assert shell.X is None
    np.testing.assert_array_equal(scanned.rows, masks.rows)
    np.testing.assert_array_equal(scanned.genes, masks.genes)
    pd.testing.assert_frame_equal(shell.obs, whole.obs)
    pd.testing.assert_frame_equal(shell.var, whole.var)
    # some columns, log-normalised with given size factors, read 7 cells at a time
    cols = np.arange(whole.n_vars) % 3 == 0
    normalise_in_place(whole, mode="counts")
    x = kept_cells.read_kept_columns(
        path, masks, columns=cols, size_factors=whole.obs["size_factor"].to_numpy(), chunk_size=7
    )
    assert x.shape == whole.shape and x.has_sorted_indices
    expected = sp.csr_matrix(whole.X @ sp.diags(cols.astype(np.float32)))
    expected.eliminate_zeros()
    assert (x != expected).nnz == 0 and x.nnz == expected.nnz


def test_no_gene_left_by_min_cells_per_gene_is_named(planted, tmp_path):
    # was sklearn's 'Found array with 0 feature(s)' from the PCA, naming no config key
    path, _ = _ingested(planted, tmp_path, "counts")
    metrics = kept_cells.read_qc_metrics(tmp_path / "qc_metrics.tsv")
    for read in (kept_cells.read_kept, kept_cells.scan_kept):
        with pytest.raises(kept_cells.InputError) as err:
            read(path, metrics, min_cells_per_gene=10**6)
        msg = str(err.value)
        assert msg.startswith(f"{path}: only 0 gene(s) are detected in at least")
        assert (
            "qc.min_cells_per_gene = 1000000" in msg and "Fix: lower qc.min_cells_per_gene" in msg
        )
