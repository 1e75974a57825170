"""tmesig.io.expression: one normalisation, redone per cell from stored values."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from conftest import planted_counts
from tmesig.io.expression import (
    EXPRESSION_KEY,
    SIZE_FACTOR,
    normalise_block,
    normalise_in_place,
    read_expression,
)
from tmesig.io.write import write_h5ad_deterministic
from tmesig.score._chunks import iter_chunks, iter_csr


def _old_path(counts: sp.csr_matrix, mode: str) -> np.ndarray:
    """Today's clustered X: cluster._normalise_for as it was (scanpy on the counts layer)."""
    a = ad.AnnData(X=counts.copy())
    if mode == "normalised":
        return a.X.astype(np.float32).toarray()
    sc.pp.normalize_total(a, target_sum=None if mode == "panel" else 1e4)
    sc.pp.log1p(a)
    return a.X.toarray()


def _hand(counts: sp.csr_matrix, target: float | None) -> np.ndarray:
    """log1p(counts / total * target) in float64, by hand (target None: median total)."""
    x = counts.toarray().astype(np.float64)
    total = x.sum(axis=1, keepdims=True)
    t = np.median(total) if target is None else target
    return np.log1p(x / np.where(total > 0, total, t) * t)


def _counts(zero_cell: bool = True) -> sp.csr_matrix:
    x = planted_counts(n_per_group=20, n_genes=80).X.copy()
    if zero_cell:
        x = x.tolil()
        x[3, :] = 0  # a cell without counts keeps its zeros (scanpy divides by 1)
        x = sp.csr_matrix(x, dtype=np.float32)
    return x


@pytest.mark.parametrize("mode", ["counts", "panel"])
def test_normalise_in_place_equals_old_path_and_hand_count(mode):
    counts = _counts()
    a = ad.AnnData(X=counts.copy())
    text = normalise_in_place(a, mode=mode)
    got = a.X.toarray()
    assert a.X.dtype == np.float32
    assert np.abs(got - _old_path(counts, mode)).max() <= 1e-6
    assert np.abs(got - _hand(counts, None if mode == "panel" else 1e4)).max() <= 1e-5
    rec = a.uns[EXPRESSION_KEY]
    assert rec["mode"] == mode and rec["x"] == "log-normalised" and "log1p" in text
    totals = np.asarray(counts.sum(axis=1)).ravel()
    target = np.median(totals) if mode == "panel" else 1e4
    assert rec["target_sum"] == pytest.approx(target)
    np.testing.assert_allclose(a.obs[SIZE_FACTOR], totals / target, rtol=1e-6)


def test_normalised_input_used_as_given():
    given = sp.csr_matrix(np.log1p(_counts(zero_cell=False).toarray()).astype(np.float64))
    a = ad.AnnData(X=given.copy())
    normalise_in_place(a, mode="normalised")
    assert a.X.dtype == np.float32
    assert np.abs(a.X.toarray() - _old_path(given, "normalised")).max() == 0
    assert a.uns[EXPRESSION_KEY]["transform"] == "none"
    assert (a.obs[SIZE_FACTOR] == 1).all()


@pytest.mark.parametrize("mode", ["counts", "panel"])
def test_normalise_block_redoes_it_chunk_by_chunk_bit_for_bit(mode):
    counts = _counts()
    a = ad.AnnData(X=counts.copy())
    normalise_in_place(a, mode=mode)
    sf = a.obs[SIZE_FACTOR].to_numpy()
    parts = [normalise_block(counts[s : s + 7], sf[s : s + 7]) for s in range(0, 60, 7)]
    np.testing.assert_array_equal(sp.vstack(parts).toarray(), a.X.toarray())
    dense = normalise_block(counts.toarray(), sf)
    np.testing.assert_array_equal(dense, a.X.toarray())


def _clustered_file(tmp_path, mode="counts"):
    """A clustered.h5ad as the cluster stage writes it: stored values + size factors."""
    counts = _counts()
    a = ad.AnnData(X=counts.copy(), obs=pd.DataFrame(index=[f"c{i}" for i in range(60)]))
    a.var_names = [f"G{i}" for i in range(80)]
    normalise_in_place(a, mode=mode)
    expected = a.X.copy()
    a.X = counts
    a.uns[EXPRESSION_KEY] = {**a.uns[EXPRESSION_KEY], "x": "stored"}
    a.uns["tmesig_input_mode"] = mode
    path = tmp_path / "clustered.h5ad"
    write_h5ad_deterministic(a, path)
    return path, counts, expected


def test_read_expression_in_memory_genes_and_counts(tmp_path):
    path, counts, expected = _clustered_file(tmp_path)
    full = read_expression(path)
    np.testing.assert_array_equal(full.X.toarray(), expected.toarray())
    assert "counts" not in full.layers
    assert full.uns[EXPRESSION_KEY]["x"] == "log-normalised"
    # the genes of a subset keep their whole-cell size factors (not renormalised)
    want = ["G5", "G70", "G2", "absent"]
    sub = read_expression(path, genes=want, counts=True)
    assert list(sub.var_names) == ["G2", "G5", "G70"]
    np.testing.assert_array_equal(sub.X.toarray(), expected[:, [2, 5, 70]].toarray())
    np.testing.assert_array_equal(sub.layers["counts"].toarray(), counts[:, [2, 5, 70]].toarray())


def test_read_expression_backed_chunks_are_log_normalised(tmp_path):
    path, counts, expected = _clustered_file(tmp_path, mode="panel")
    backed = read_expression(path, backed=True)
    assert backed.isbacked
    blocks = [b for _, _, b in iter_chunks(backed, 13)]
    np.testing.assert_array_equal(sp.vstack(blocks).toarray(), expected.toarray())
    blocks = [b for _, _, b in iter_csr(backed, 25)]
    np.testing.assert_array_equal(sp.vstack(blocks).toarray(), expected.toarray())
    with pytest.raises(ValueError, match="in memory"):
        read_expression(path, backed=True, counts=True)


def test_normalised_file_read_as_stored(tmp_path):
    given = sp.csr_matrix(np.log1p(_counts(zero_cell=False).toarray()), dtype=np.float32)
    a = ad.AnnData(X=given.copy())
    normalise_in_place(a, mode="normalised")
    a.uns[EXPRESSION_KEY] = {**a.uns[EXPRESSION_KEY], "x": "stored"}
    path = tmp_path / "n.h5ad"
    write_h5ad_deterministic(a, path)
    got = read_expression(path, counts=True)
    np.testing.assert_array_equal(got.X.toarray(), given.toarray())
    assert "counts" not in got.layers
    blocks = [b for _, _, b in iter_chunks(read_expression(path, backed=True), 16)]
    np.testing.assert_array_equal(sp.vstack(blocks).toarray(), given.toarray())


@pytest.mark.parametrize("mode", ["counts", "panel"])
def test_read_expression_normalises_chunk_by_chunk_as_whole(tmp_path, monkeypatch, mode):
    """Read 7 cells at a time (chunks normalised, then stacked): the numbers of one block."""
    import tmesig.io.expression as expr

    path, counts, expected = _clustered_file(tmp_path, mode=mode)
    monkeypatch.setattr(expr, "ROW_CHUNK", 7)
    got = read_expression(path)
    assert got.X.shape == expected.shape
    np.testing.assert_array_equal(got.X.toarray(), expected.toarray())
    sub = read_expression(path, genes=["G9", "G1"], counts=True)  # counts: the one-block path
    np.testing.assert_array_equal(sub.X.toarray(), expected[:, [1, 9]].toarray())
    np.testing.assert_array_equal(sub.layers["counts"].toarray(), counts[:, [1, 9]].toarray())


def test_stack_csr_equals_scipy_vstack():
    from tmesig.io.expression import _stack_csr

    rng = np.random.default_rng(3)
    blocks = [sp.random(n, 30, density=0.2, format="csr", random_state=rng) for n in (5, 0, 9, 1)]
    want = sp.vstack(blocks, format="csr")
    got = _stack_csr([b.copy() for b in blocks])
    for attr in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(got, attr), getattr(want, attr))
    assert got.shape == want.shape
