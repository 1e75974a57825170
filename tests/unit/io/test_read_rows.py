"""tmesig.io.backed_rows: some cells of a backed clustered.h5ad, log-normalised, one or several
selections in one pass."""

from unittest.mock import patch

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import planted_counts
from tmesig.io import backed_rows
from tmesig.io.backed_rows import RowRequest, read_row_sets, read_rows
from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place, read_expression
from tmesig.io.write import write_h5ad_deterministic


def _stored_file(tmp_path, mode="counts"):
    """A clustered.h5ad as the cluster stage writes it (stored counts + size factors) and the
    log-normalised matrix scanpy gives for all cells at once."""
    counts = sp.csr_matrix(planted_counts(n_per_group=25, n_genes=60).X, dtype=np.float32)
    n = counts.shape[0]
    obs = pd.DataFrame(
        {"leiden": [str(i % 3) for i in range(n)]}, index=[f"c{i}" for i in range(n)]
    )
    a = ad.AnnData(X=counts.copy(), obs=obs)
    a.var_names = [f"G{i}" for i in range(counts.shape[1])]
    a.obsm["X_pca"] = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    normalise_in_place(a, mode=mode)
    expected = a.X.toarray()
    a.X = counts
    a.uns[EXPRESSION_KEY] = {**a.uns[EXPRESSION_KEY], "x": "stored"}
    path = tmp_path / "clustered.h5ad"
    write_h5ad_deterministic(a, path)
    return path, expected


@pytest.mark.parametrize("mode", ["counts", "panel"])
def test_backed_rows_are_the_in_memory_rows_bit_for_bit(tmp_path, mode):
    path, expected = _stored_file(tmp_path, mode)
    backed = read_expression(path, backed=True)
    rows = np.array([0, 1, 6, 7, 8, 20, 41, 42, backed.n_obs - 1])
    # chunks of 7 cells: rows on both sides of chunk borders, chunks with no row skipped
    got = read_rows(backed, rows, chunk_size=7)
    assert not got.isbacked and sp.issparse(got.X)
    np.testing.assert_array_equal(got.X.toarray(), expected[rows])
    assert list(got.obs_names) == [f"c{i}" for i in rows]
    assert got.obs["leiden"].tolist() == [str(i % 3) for i in rows]
    np.testing.assert_array_equal(got.obsm["X_pca"][:, 0], rows * 2)
    assert got.uns[EXPRESSION_KEY]["x"] == "log-normalised"
    # the same as the whole matrix read in memory, then subset
    full = read_expression(path)
    np.testing.assert_array_equal(got.X.toarray(), full[rows].X.toarray())
    # a boolean mask is the same selection; the file is unchanged
    mask = np.zeros(backed.n_obs, dtype=bool)
    mask[rows] = True
    np.testing.assert_array_equal(read_rows(backed, mask, chunk_size=5).X.toarray(), expected[rows])
    assert read_expression(path, backed=True).uns[EXPRESSION_KEY]["x"] == "stored"


def test_in_memory_is_a_view_and_unsorted_rows_are_refused(tmp_path):
    path, expected = _stored_file(tmp_path)
    full = read_expression(path)
    view = read_rows(full, np.array([3, 1]))
    assert view.is_view and list(view.obs_names) == ["c3", "c1"]
    with pytest.raises(ValueError, match="increasing"):
        read_rows(read_expression(path, backed=True), np.array([3, 1]))
    empty = read_rows(read_expression(path, backed=True), np.array([], dtype=int))
    assert empty.shape == (0, expected.shape[1])


def test_sparse_chunks_are_read_cell_by_cell_with_the_same_numbers(tmp_path):
    path, expected = _stored_file(tmp_path)
    backed = read_expression(path, backed=True)
    rows = np.array([2, 3, 4, 30, 61, backed.n_obs - 1])  # runs of one and of three cells
    # chunks of 100 cells: 6 wanted cells are under SPARSE_SHARE of a chunk
    with patch("tmesig.io.backed_rows._csr_rows", wraps=backed_rows._csr_rows) as spy:
        got = read_rows(backed, rows, chunk_size=100)
    assert spy.call_count >= 1
    np.testing.assert_array_equal(got.X.toarray(), expected[rows])
    with patch("tmesig.io.backed_rows._csr_rows") as never:
        dense_chunks = read_rows(backed, rows, chunk_size=7)
    never.assert_not_called()
    np.testing.assert_array_equal(dense_chunks.X.toarray(), expected[rows])


def test_several_selections_in_one_pass_equal_each_alone(tmp_path):
    path, expected = _stored_file(tmp_path)
    backed = read_expression(path, backed=True)
    genes = ["G5", "G1", "G40", "absent"]
    requests = [
        RowRequest(np.arange(0, backed.n_obs, 2), genes),
        RowRequest(np.array([1, 7, 8, 9])),
        RowRequest(np.array([], dtype=int)),
        RowRequest(np.arange(backed.n_obs) % 5 == 0),
    ]
    with patch("tmesig.io.backed_rows._read_chunk", wraps=backed_rows._read_chunk) as spy:
        got = read_row_sets(backed, requests, chunk_size=11)
    # one read per chunk of the file, whatever the number of selections
    assert spy.call_count == -(-backed.n_obs // 11)
    cols = [1, 5, 40]  # file order; the absent gene dropped
    np.testing.assert_array_equal(got[0].X.toarray(), expected[::2][:, cols])
    assert list(got[0].var_names) == ["G1", "G5", "G40"]
    np.testing.assert_array_equal(got[1].X.toarray(), expected[[1, 7, 8, 9]])
    assert got[2].shape == (0, expected.shape[1])
    np.testing.assert_array_equal(got[3].X.toarray(), expected[::5])
    for req, one in zip(requests, got, strict=True):
        alone = read_rows(backed, req.rows, genes=req.genes, chunk_size=11)
        np.testing.assert_array_equal(one.X.toarray(), alone.X.toarray())
        assert one.obs_names.equals(alone.obs_names)
