"""Clustering on a sketch: the sketch keeps rare cells, the transfer recovers planted labels."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from sklearn.metrics import adjusted_rand_score
from tmesig import cluster
from tmesig.cluster import (
    SketchOptions,
    highly_variable_chunked,
    knn_to_sketch,
    sketch_indices,
    transfer_embedding,
    transfer_labels,
)


def _blobs(sizes, *, dims=10, spread=0.3, seed=0):
    """Gaussian blobs with centres 5 apart on separate axes; labels 0..len(sizes)-1."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    centres = 5.0 * np.eye(len(sizes), dims)
    return (centres[labels] + spread * rng.standard_normal((len(labels), dims))), labels


def test_transfer_recovers_planted_labels_and_positions():
    rep, truth = _blobs([800, 600, 400, 200])
    sketch = sketch_indices(rep, size=300, method="uniform", seed=0)
    rest = np.setdiff1d(np.arange(len(rep)), sketch)
    nb, dist = knn_to_sketch(rep, sketch, rest, k=15, seed=0)
    assert nb.shape == (len(rest), 15) and (np.diff(dist, axis=1) >= -1e-5).all()
    got = transfer_labels(truth[sketch], nb)
    assert (got == truth[rest]).mean() == 1.0  # separable blobs: every cell right
    # positions: a linear map of the coordinates is carried over (weighted mean of the
    # neighbours' images: within the blob's spread of the cell's own image)
    coords = rep[:, :2] @ np.array([[1.0, 0.5], [-0.5, 1.0]])
    placed = transfer_embedding(coords[sketch], nb, dist)
    assert np.abs(placed - coords[rest]).max() < 2.0
    blob_centre = np.array([[5.0, 2.5], [-2.5, 5.0], [0, 0], [0, 0]])[truth[rest]]
    assert np.abs(placed - blob_centre).max() < 1.0


def test_small_sketch_neighbours_are_the_exact_ones(monkeypatch):
    """Below EXACT_BELOW sketch cells: the exact neighbours (a full distance matrix sorted
    here), block by block, whatever the block size."""
    from scipy.spatial.distance import cdist
    from tmesig.cluster import _transfer

    rng = np.random.default_rng(3)
    rep = rng.standard_normal((700, 8))
    sketch = np.sort(rng.choice(700, 250, replace=False))
    rest = np.setdiff1d(np.arange(700), sketch)
    full = cdist(rep[rest], rep[sketch])
    expected = np.argsort(full, axis=1, kind="stable")[:, :7]
    monkeypatch.setattr(_transfer, "_BLOCK", 100)  # several blocks
    nb, dist = knn_to_sketch(rep, sketch, rest, k=7, seed=0)
    assert len(sketch) < _transfer.EXACT_BELOW
    np.testing.assert_array_equal(nb, expected)
    np.testing.assert_allclose(dist, np.take_along_axis(full, expected, axis=1), rtol=1e-5)
    # k above the sketch size: every sketch cell, nearest first
    nb, _ = knn_to_sketch(rep, sketch[:5], rest[:3], k=15, seed=0)
    want = np.argsort(cdist(rep[rest[:3]], rep[sketch[:5]]), axis=1, kind="stable")
    np.testing.assert_array_equal(nb, want)


def test_majority_vote_and_weights_by_hand():
    labels = np.array(["a", "b", "c"])
    # votes a,b,b -> b; a,b tie (c once) -> the nearest tied label a; c,a,a -> a
    nb = np.array([[0, 1, 1], [0, 1, 2], [2, 0, 0]])
    assert list(transfer_labels(labels, nb)) == ["b", "a", "a"]
    nb = np.array([[1, 0, 2]])
    assert list(transfer_labels(labels, nb)) == ["b"]  # all tie: the nearest
    coords = np.array([[0.0, 0.0], [4.0, 0.0]])
    # distances 1 and 3: weights 1/1 and 1/3 -> 3/4 and 1/4 of the way (delta ~ 1e-3)
    out = transfer_embedding(coords, np.array([[0, 1]]), np.array([[1.0, 3.0]]))
    np.testing.assert_allclose(out, [[1.0, 0.0]], atol=5e-3)


def test_geosketch_keeps_a_planted_rare_population():
    sizes = [9000, 6000, 4900, 100]  # the last: 0.5% of cells
    rep, truth = _blobs(sizes, seed=1)
    rare = truth == 3
    geo = sketch_indices(rep, size=1000, method="geosketch", seed=0)
    uni = sketch_indices(rep, size=1000, method="uniform", seed=0)
    assert len(geo) == len(uni) == 1000 and len(np.unique(geo)) == 1000
    expected_uniform = 1000 * rare.mean()  # 5 cells (hypergeometric mean)
    assert abs(rare[uni].sum() - expected_uniform) <= 5
    # geometric sketching samples by volume: the rare blob (one of four of equal spread)
    # gets far more than its share, at least 4x the uniform expectation
    assert rare[geo].sum() >= 4 * expected_uniform
    # and the same seed gives the same sketch
    np.testing.assert_array_equal(geo, sketch_indices(rep, size=1000, method="geosketch", seed=0))


def _lognorm(a):
    a = a.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@pytest.mark.parametrize("method", ["geosketch", "uniform"])
def test_cluster_on_a_sketch_recovers_groups_and_is_deterministic(planted, method):
    forced = SketchOptions(sketch_above=0, sketch_size=90, sketch_method=method)
    a, b = _lognorm(planted), _lognorm(planted)
    cluster.cluster(a, n_hvg=200, n_pcs=10, n_neighbors=10, resolution=0.3, seed=0, sketch=forced)
    cluster.cluster(b, n_hvg=200, n_pcs=10, n_neighbors=10, resolution=0.3, seed=0, sketch=forced)
    info = a.uns["tmesig_cluster"]["sketch"]
    assert info["method"] == method and info["size"] == 90 and a.obs["in_sketch"].sum() == 90
    assert adjusted_rand_score(a.obs["group"], a.obs["leiden"]) > 0.95
    assert np.isfinite(a.obsm["X_umap"]).all()
    pd_equal = (a.obs["leiden"] == b.obs["leiden"]).all()
    assert pd_equal and (a.obs["in_sketch"] == b.obs["in_sketch"]).all()
    np.testing.assert_array_equal(a.obsm["X_umap"], b.obsm["X_umap"])


def test_chunked_highly_variable_genes_match_scanpy(planted):
    a = _lognorm(planted)
    ref = a.copy()
    sc.pp.highly_variable_genes(ref, n_top_genes=50)
    got = highly_variable_chunked(a, n_top_genes=50, block=37)  # several uneven blocks
    assert (got["highly_variable"].to_numpy() == ref.var["highly_variable"].to_numpy()).all()
    for col in ("means", "dispersions", "dispersions_norm"):
        np.testing.assert_allclose(got[col], ref.var[col], rtol=1e-5, atol=1e-6)


def test_sketch_options_from_config_and_threshold():
    opts = SketchOptions.from_config({"sketch_above": 10, "sketch_size": 5, "n_hvg": 3})
    assert opts == SketchOptions(sketch_above=10, sketch_size=5, sketch_method="geosketch")
    assert not opts.applies(10) and opts.applies(11)
    assert not SketchOptions(sketch_above=0, sketch_size=100).applies(100)
    with pytest.raises(ValueError, match="sketch_method"):
        SketchOptions(sketch_method="random")


def test_config_schema_sketch_keys_match_the_package():
    import yaml
    from conftest import REPO
    from tmesig.cluster import SKETCH_METHODS

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["cluster"]["properties"]
    assert tuple(props["sketch_method"]["enum"]) == SKETCH_METHODS
    defaults = {k: props[k]["default"] for k in ("sketch_above", "sketch_size", "sketch_method")}
    assert SketchOptions.from_config(defaults) == SketchOptions()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["cluster"]
    assert SketchOptions.from_config(config) == SketchOptions()


@pytest.mark.parametrize(
    ("sketch_above", "batch_key"), [(10**9, None), (0, None), (10**9, "batch"), (0, "batch")]
)
def test_umap_after_clustering_equals_scanpy_on_the_clustering_graph(
    planted, sketch_above, batch_key
):
    """Rule umap's coordinates, from only what clustered.h5ad keeps (no X), against scanpy's
    UMAP run by hand: on the clustering's own AnnData (whole graph), or on the sketch cells'
    exact kNN graph with every other cell at its nearest sketch cells' weighted position."""
    forced = SketchOptions(sketch_above=sketch_above, sketch_size=90, sketch_method="uniform")
    b = _lognorm(planted)
    b.obs["batch"] = np.where(np.arange(b.n_obs) % 2, "b1", "b2")
    opts = {"n_hvg": 200, "n_pcs": 10, "n_neighbors": 10, "resolution": 0.3, "seed": 0}
    cluster.pca_genes(b, n_hvg=200, n_pcs=10, batch_key=batch_key, chunked=False)
    cluster.cluster_marked(b, sketch=forced, batch_key=batch_key, **opts)
    assert "X_umap" not in b.obsm
    light = ad.AnnData(
        obs=b.obs[["in_sketch"]].copy(),
        obsm=dict(b.obsm),
        obsp=dict(b.obsp),
        uns={k: b.uns[k] for k in ("tmesig_cluster", "neighbors") if k in b.uns},
    )
    got = cluster.umap_embedding(light)
    assert got.dtype == np.float32 and got.shape == (b.n_obs, 2)
    rep = "X_pca_harmony" if batch_key else "X_pca"
    if sketch_above:
        sc.tl.umap(b, random_state=0)
        want = b.obsm["X_umap"]
    else:
        idx = np.flatnonzero(b.obs["in_sketch"])
        rest = np.flatnonzero(~b.obs["in_sketch"].to_numpy(bool))
        sub = ad.AnnData(obs=pd.DataFrame(index=b.obs_names[idx]), obsm={rep: b.obsm[rep][idx]})
        sc.pp.neighbors(sub, n_neighbors=10, use_rep=rep, transformer="sklearn", random_state=0)
        sc.tl.umap(sub, random_state=0)
        nb, dist = cluster.knn_to_sketch(b.obsm[rep], idx, rest, k=10, seed=0)
        want = np.empty((b.n_obs, 2), dtype=np.float32)
        want[idx] = sub.obsm["X_umap"]
        want[rest] = cluster.transfer_embedding(sub.obsm["X_umap"], nb, dist)
        assert len(rest) == b.n_obs - 90
    np.testing.assert_array_equal(got, np.asarray(want, dtype=np.float32))
