"""What a matrix holds and where the counts are: planted counts, log1p, TPM, scaled, .raw."""

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
from io_testdata import adata, counts, log1p_norm
from tmesig.io import InputError, detect_matrix_state, find_counts


def test_detect_states_on_planted_matrices():
    x = counts()
    assert detect_matrix_state(x).state == "counts"
    y = log1p_norm(x)
    st = detect_matrix_state(y)
    assert st.state == "log1p_normalized"
    assert st.evidence["target_sum"] == pytest.approx(1e4, rel=1e-6)
    tpm = sp.csr_matrix(x, dtype=np.float64)
    tpm = sp.csr_matrix(sp.diags(1e6 / np.asarray(tpm.sum(1)).ravel()) @ tpm)
    tpm.data = np.log2(tpm.data + 1)
    assert detect_matrix_state(tpm).state == "log2_tpm"
    scaled = np.asarray(y.todense())
    scaled = (scaled - scaled.mean(0)) / (scaled.std(0) + 1e-9)
    assert detect_matrix_state(scaled).state == "scaled"
    corrected = x.copy()
    corrected.data = corrected.data * 1.37 + 40.1  # non-integer, too large for a log scale
    assert detect_matrix_state(corrected).state == "corrected_counts"


def test_counts_recovered_from_log1p_equal_the_originals():
    x = counts(seed=3)
    a = ad.AnnData(X=log1p_norm(x))
    rec, _, decision = find_counts(a)
    assert decision["recovered"] is True
    np.testing.assert_array_equal(rec.toarray(), x.toarray())


def test_counts_preferred_from_layer_over_log_x():
    x = counts(seed=1)
    a = ad.AnnData(X=log1p_norm(x))
    a.layers["counts"] = x
    rec, _, decision = find_counts(a)
    assert decision["source"] == "layers/counts" and decision["recovered"] is False
    np.testing.assert_array_equal(rec.toarray(), x.toarray())


def test_scaled_only_is_refused_with_a_fix():
    x = np.random.default_rng(0).normal(size=(50, 20))
    with pytest.raises(InputError, match="raw counts"):
        find_counts(ad.AnnData(X=x))


def test_raw_same_genes_other_order_is_aligned_to_x():
    x = counts(seed=6, n=20, g=5)
    raw = adata(x, list("ABCDE"))
    a = raw[:, [4, 3, 2, 1, 0]].copy()
    a.X = log1p_norm(a.X) * 1.0001
    a.raw = raw
    got, var, decision = find_counts(a)
    np.testing.assert_array_equal(got.toarray(), x.toarray()[:, ::-1])
    assert list(var.index) == list("EDCBA")  # aligned to X's genes


def test_tpm_states_and_allow_non_counts():
    x = counts(seed=7)
    tpm = sp.csr_matrix(
        sp.diags(1e6 / np.asarray(x.sum(1)).ravel()) @ sp.csr_matrix(x, dtype=np.float64)
    )
    assert detect_matrix_state(tpm).state == "normalized"  # unlogged TPM is not counts
    log2 = tpm.copy()
    log2.data = np.log2(log2.data + 1)
    a = ad.AnnData(X=log2)
    with pytest.raises(InputError, match="allow_non_counts"):
        find_counts(a)
    vals, _, decision = find_counts(a, allow_non_counts=True)
    assert decision["state"] == "log2_tpm" and decision["non_counts"] is True
    np.testing.assert_allclose(vals.toarray(), tpm.toarray(), rtol=1e-5)


def test_forced_source_and_its_absence():
    x = counts(seed=8)
    a = ad.AnnData(X=log1p_norm(x))
    a.layers["umis"] = x
    _, _, decision = find_counts(a, source="layers/umis")
    assert decision["source"] == "layers/umis" and decision["requested"] == "layers/umis"
    with pytest.raises(InputError, match="ingest.matrix_source"):
        find_counts(a, source="layers/spliced")


def test_nan_and_negative_named():
    x = counts(seed=9).toarray()
    x[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        find_counts(ad.AnnData(X=x))
    y = counts(seed=9).toarray()
    y[0, 0] = -2
    with pytest.raises(InputError, match="negative values"):
        find_counts(ad.AnnData(X=y))
