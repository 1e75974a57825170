"""tmesig.celltypist_run: CellTypist on a clustered.h5ad a chunk of cells at a time."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import DEMO, train_celltypist_model
from tmesig.celltypist_run import (
    CHUNK_BYTES,
    MIN_CHUNK,
    chunk_cells,
    run_celltypist,
    run_celltypist_file,
)
from tmesig.io.errors import InputError
from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place
from tmesig.io.write import write_h5ad_deterministic


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path, ad.AnnData]:
    """A model trained on 1,500 demo cells; 420 other cells stored as the cluster stage
    writes them (counts + size factors), with 'clusters' = the author labels; and the same
    cells log-normalised in memory (the reference)."""
    tmp = tmp_path_factory.mktemp("ct_run")
    demo = ad.read_h5ad(DEMO)
    order = np.random.default_rng(3).permutation(demo.n_obs)
    model = train_celltypist_model(demo[order[:1500]].copy(), "cell_type", tmp / "m.pkl")
    test = demo[np.sort(order[1500:1920])].copy()
    test.obs["leiden"] = test.obs["cell_type"].astype(str).astype("category")
    counts = test.X.copy()
    normalise_in_place(test, mode="counts")
    stored = test.copy()
    stored.X = counts
    stored.uns[EXPRESSION_KEY] = {**stored.uns[EXPRESSION_KEY], "x": "stored"}
    path = tmp / "clustered.h5ad"
    write_h5ad_deterministic(stored, path)
    return path, model, test


def test_chunk_cells_hand_values():
    assert chunk_cells(1_000) == CHUNK_BYTES // 8_000 == 33_554
    assert chunk_cells(10**6) == MIN_CHUNK  # a huge model: never below the floor
    assert chunk_cells(0) == CHUNK_BYTES // 8  # no gene shared: one chunk for everything


@pytest.mark.parametrize("chunk_size", [100, 1_000])
def test_chunks_match_one_call_in_memory(data, chunk_size):
    """Chunk by chunk (5 chunks, or 1) = CellTypist on every cell at once in memory."""
    path, model, test = data
    want = run_celltypist(test, model_path=model)
    got = run_celltypist_file(path, model_path=model, chunk_size=chunk_size)
    assert got.index.equals(test.obs_names)
    assert (got["celltypist_label"] == want["celltypist_label"]).all()
    if chunk_size >= test.n_obs:  # one chunk: the very same call, bit for bit
        np.testing.assert_array_equal(got["celltypist_confidence"], want["celltypist_confidence"])
    else:  # the matrix product over fewer rows may round the last bit differently, which the
        # logistic function amplifies in its far tail (1e-94 differing at 1.3e-12 relative)
        np.testing.assert_allclose(
            got["celltypist_confidence"], want["celltypist_confidence"], rtol=1e-9, atol=1e-15
        )
    assert got["celltypist_label"].nunique() >= 4  # a real prediction, not one label


@pytest.mark.parametrize("chunk_size", [100, 1_000])
def test_majority_vote_over_chunks_matches_celltypist(data, chunk_size):
    """The vote over 5 chunks' predictions = CellTypist's own vote on every cell."""
    path, model, test = data
    want = run_celltypist(test, model_path=model, majority_voting=True, over_clustering="leiden")
    got = run_celltypist_file(
        path,
        model_path=model,
        majority_voting=True,
        over_clustering="leiden",
        chunk_size=chunk_size,
    )
    pd.testing.assert_series_equal(got["celltypist_label"], want["celltypist_label"])
    # one label per cluster, as a vote gives
    assert (got.groupby(test.obs["leiden"], observed=True)["celltypist_label"].nunique() == 1).all()


def test_vote_over_chunks_needs_the_clusters(data):
    path, model, _ = data
    with pytest.raises(InputError, match="over_clustering='leiden'") as info:
        run_celltypist_file(path, model_path=model, majority_voting=True, chunk_size=100)
    assert str(path) in str(info.value)
