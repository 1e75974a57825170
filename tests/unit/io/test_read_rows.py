"""tmesig.io.kept_cells.read_rows: some cells of a backed clustered.h5ad, log-normalised."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import planted_counts
from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place, read_expression
from tmesig.io.kept_cells import read_rows
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
