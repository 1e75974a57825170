"""Disguised and mixed matrices: per-cell checks, constant totals, absurd values, X=None."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from io_testdata import adata, counts, log1p_norm, write
from tmesig.io import (
    IngestOptions,
    InputError,
    check_cells,
    detect_matrix_state,
    find_counts,
    ingest,
)

GENES = [f"G{i}" for i in range(100)]


def _scaled(x, target):
    """Counts scaled to ``target`` per cell (un-logged CP10k / CPM)."""
    x = sp.csr_matrix(x, dtype=np.float64)
    return sp.csr_matrix(sp.diags(target / np.asarray(x.sum(axis=1)).ravel()) @ x)


def _with_samples(x, samples):
    a = adata(x, GENES)
    a.obs["smp"] = samples
    return a


def test_half_counts_half_log_refused_with_cells_per_sample(tmp_path):
    x = counts(seed=1)  # 200 cells
    mixed = sp.vstack([x[:120], log1p_norm(x[120:])]).tocsr()
    samples = np.repeat(["s1", "s2", "s3"], [100, 50, 50])  # s2 mixes 20 counts + 30 log
    p = write(tmp_path, _with_samples(mixed, samples))
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d", sample_col="smp")
    msg = str(err.value)
    assert str(p) in msg and "mixes scales" in msg
    assert "120 cells hold raw integer counts" in msg and "80 cells hold log-normalised" in msg
    assert "s1: 100 integer / 0 log" in msg and "s2: 20 integer / 30 log" in msg
    assert "s3: 0 integer / 50 log" in msg and "export the raw counts of every cell" in msg


def test_a_few_log_cells_among_counts_are_found_outside_the_probe():
    x = counts(seed=2, n=3000)
    mixed = sp.vstack([x[:2995], log1p_norm(x[2995:])]).tocsr()  # 5 log cells at the end
    with pytest.raises(InputError, match="5 cells hold log-normalised"):
        find_counts(ad.AnnData(X=mixed))


def test_counts_beside_ambient_corrected_cells_are_accepted():
    x = counts(seed=3)
    corrected = x[100:].copy().astype(np.float64)
    corrected.data = np.maximum(corrected.data - 0.37, 0.01) * 3.1 + 25  # count-like, large
    m = sp.vstack([x[:100], corrected]).tocsr()
    _, _, decision = find_counts(ad.AnnData(X=m))
    assert decision["state"] == "corrected_counts"
    cells = decision["cells"]
    assert cells["cells_integer"] == 100 and cells["cells_non_integer"] == 100


def test_constant_totals_are_normalised_and_counts_recovered_exactly():
    x = counts(seed=4)
    cp10k = _scaled(x, 1e4)
    st = detect_matrix_state(cp10k)
    assert st.state == "normalized" and st.evidence["cv_total"] < 1e-6
    rec, _, decision = find_counts(ad.AnnData(X=cp10k.astype(np.float32)))
    assert decision["recovered"] is True and decision["state"] == "normalized"
    np.testing.assert_array_equal(rec.toarray(), x.toarray())


def test_normalised_then_gene_filtered_is_still_normalised():
    # CP10k computed on every gene, then 10 genes removed: totals vary, values stay multiples
    x = counts(seed=5)
    cp = _scaled(x, 1e4)[:, 10:]
    st = detect_matrix_state(cp)
    assert st.state == "normalized" and st.evidence["cv_total"] > 1e-2
    assert st.evidence["fraction_multiple_of_cell_min"] > 0.999
    rec, _, _ = find_counts(ad.AnnData(X=cp))
    np.testing.assert_array_equal(rec.toarray(), x.toarray()[:, 10:])


def test_rounded_normalised_integers_refused_downsampled_counts_accepted():
    rng = np.random.default_rng(6)
    lam = rng.gamma(1.0, 1.0, size=100)
    depth = rng.uniform(300, 3000, size=(200, 1))
    x = rng.poisson(lam / lam.sum() * depth).astype(np.float64)
    rounded = np.round(x / x.sum(1, keepdims=True) * 1e4)  # CP10k, rounded
    assert detect_matrix_state(sp.csr_matrix(rounded)).state == "normalized"
    with pytest.raises(InputError) as err:
        find_counts(ad.AnnData(X=sp.csr_matrix(rounded)))
    assert "CP10k" in str(err.value) and "input_mode: normalised" in str(err.value)
    # every cell down-sampled to 200 counts: the same total exactly, and still counts
    down = np.zeros_like(x)
    for i in range(x.shape[0]):
        genes = rng.choice(100, size=200, p=lam / lam.sum())
        down[i] = np.bincount(genes, minlength=100)
    st = detect_matrix_state(sp.csr_matrix(down))
    assert st.state == "counts" and st.evidence["downsampled_to_total"] == 200


def test_half_integer_counts_are_named_for_what_they_are():
    x = counts(seed=7).astype(np.float64)
    x.data = x.data / 2  # every value a multiple of 0.5, small: not a log scale
    st = detect_matrix_state(x)
    assert st.state == "half_integer_counts"
    _, _, decision = find_counts(ad.AnnData(X=x))
    assert any("steps of 0.5" in n for n in decision["notes"])


@pytest.mark.parametrize("value", [1e30, 1e39])
def test_absurd_values_refused_with_counts_not_called_nan(tmp_path, value):
    x = counts(seed=8).toarray().astype(np.float64)
    x[[3, 50, 51, 52, 120, 199], 4] = value  # six cells, float64 (1e39 overflows float32)
    p = write(tmp_path, adata(sp.csr_matrix(x), GENES))
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d")
    msg = str(err.value)
    assert str(p) in msg and "6 value(s) in 6 cell(s)" in msg and "absurdly large" in msg
    assert "NaN" not in msg and "re-export" in msg


def test_nan_outside_the_probe_is_counted():
    x = counts(seed=9, n=5000).toarray()
    x[4999, 1] = np.nan  # the probe takes 2000 of 5000 cells
    with pytest.raises(InputError, match=r"NaN or infinite values: 1 value\(s\) in 1 cell"):
        check_cells(x, source="X")


def test_x_none_uses_the_counts_layer(tmp_path):
    x = counts(seed=10)
    a = ad.AnnData(
        X=None, obs=pd.DataFrame(index=[f"c{i}" for i in range(200)]), var=pd.DataFrame(index=GENES)
    )
    a.layers["counts"] = x
    out, summary = ingest(write(tmp_path, a), dataset="d")
    assert summary["matrix"]["source"] == "layers/counts"
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
    b = ad.AnnData(X=None, obs=pd.DataFrame(index=["a", "b"]), var=pd.DataFrame(index=["G"]))
    with pytest.raises(InputError, match="no expression matrix"):
        find_counts(b)


def test_normalised_input_mode_keeps_log_values_without_counts_layer(tmp_path):
    x = counts(seed=11)
    logv = log1p_norm(x)
    logv.data = logv.data * 1.05  # log values whose counts cannot be recovered
    p = write(tmp_path, adata(logv, GENES))
    with pytest.raises(InputError, match="ingest.input_mode: normalised") as err:
        ingest(p, dataset="d")
    assert str(p) in str(err.value)
    out, summary = ingest(p, dataset="d", options=IngestOptions(input_mode="normalised"))
    assert summary["input_mode"] == "normalised" and "counts" not in out.layers
    np.testing.assert_allclose(out.X.toarray(), logv.toarray(), rtol=1e-6)
    # counts, when there are any, win over the mode; fewer than 1000 genes: a panel
    out, summary = ingest(
        write(tmp_path, adata(x, GENES), "c.h5ad"),
        dataset="d",
        options=IngestOptions(input_mode="normalised"),
    )
    assert summary["input_mode"] == "panel" and "counts" not in out.layers  # counts in X
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
