import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tmesig import ingest
from tmesig.ingest import InputError, detect_matrix_state, find_counts


def _counts(seed=0, n=200, g=100):
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.gamma(1.0, 1.0, size=(n, g))).astype(np.float32)
    x[:, 0] += 1  # every cell has at least one count
    return sp.csr_matrix(x)


def _log1p_norm(x, target=1e4):
    x = sp.csr_matrix(x, dtype=np.float64)
    tot = np.asarray(x.sum(axis=1)).ravel()
    y = sp.diags(target / tot) @ x
    y = sp.csr_matrix(y)
    y.data = np.log1p(y.data)
    return y


def test_detect_states_on_planted_matrices():
    x = _counts()
    assert detect_matrix_state(x).state == "counts"
    y = _log1p_norm(x)
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
    x = _counts(seed=3)
    a = ad.AnnData(X=_log1p_norm(x))
    rec, decision = find_counts(a)
    assert decision["recovered"] is True
    np.testing.assert_array_equal(rec.toarray(), x.toarray())


def test_counts_preferred_from_layer_over_log_x():
    x = _counts(seed=1)
    a = ad.AnnData(X=_log1p_norm(x))
    a.layers["counts"] = x
    rec, decision = find_counts(a)
    assert decision["source"] == "layers/counts" and decision["recovered"] is False
    np.testing.assert_array_equal(rec.toarray(), x.toarray())


def test_scaled_only_is_refused_with_a_fix():
    x = np.random.default_rng(0).normal(size=(50, 20))
    with pytest.raises(InputError, match="raw counts"):
        find_counts(ad.AnnData(X=x))


def test_ensembl_ids_mapped_offline_and_duplicates_summed():
    # CD274, B2M and NT5E by their Ensembl IDs (GRCh38), one with a version suffix;
    # the last two columns carry the same symbol and must be summed.
    ids = ["ENSG00000120217.14", "ENSG00000166710", "ENSG00000135318", "ENSG00000135318.2"]
    sym, info = ingest.map_gene_ids(pd.DataFrame(index=ids), pd.Index(ids))
    assert list(sym) == ["CD274", "B2M", "NT5E", "NT5E"]
    assert info["id_type"] == "ensembl"
    m = sp.csr_matrix(np.array([[1, 2, 3, 4], [0, 5, 0, 6]], dtype=np.float32))
    summed, names = ingest.sum_duplicate_genes(m, sym)
    assert list(names) == ["CD274", "B2M", "NT5E"]
    np.testing.assert_array_equal(summed.toarray(), [[1, 2, 7], [0, 5, 6]])


def test_feature_name_column_wins_over_the_table():
    ids = pd.Index(["ENSG00000120217", "ENSG00000166710"])
    var = pd.DataFrame({"feature_name": ["PDL1_alias", "B2M"]}, index=ids)
    sym, info = ingest.map_gene_ids(var, ids)
    assert list(sym) == ["PDL1_alias", "B2M"] and info["symbol_source"] == "var['feature_name']"


def _write(tmp_path, a, name="d.h5ad"):
    p = tmp_path / name
    a.write_h5ad(p)
    return p


def test_ingest_normalises_metadata(tmp_path):
    x = _counts()
    obs = pd.DataFrame(
        {"donor": np.repeat(["p1", "p2"], 100), "smp": np.repeat(["a", "b", "c", "d"], 50)},
        index=[f"c{i}" for i in range(200)],
    )
    a = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(100)]))
    p = _write(tmp_path, a)
    out, summary = ingest.ingest(p, dataset="d", sample_col="smp", patient_col="donor")
    assert summary["samples"] == 4 and summary["patients"] == 2 and summary["cells"] == 200
    assert list(out.obs["sample"].cat.categories) == ["a", "b", "c", "d"]
    assert (out.obs["condition"] == "NA").all()
    np.testing.assert_array_equal(out.layers["counts"].toarray(), x.toarray())
    out2, _ = ingest.ingest(p, dataset="d")
    assert (out2.obs["sample"] == "d").all() and (out2.obs["patient"] == "d").all()


def test_missing_obs_column_names_file_column_and_fix(tmp_path):
    a = ad.AnnData(X=_counts(), var=pd.DataFrame(index=[f"G{i}" for i in range(100)]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    p = _write(tmp_path, a)
    with pytest.raises(InputError) as err:
        ingest.ingest(p, dataset="d", sample_col="patient_id")
    msg = str(err.value)
    assert str(p) in msg and "'patient_id'" in msg and "sample_col" in msg


def test_bad_files_are_refused(tmp_path):
    txt = tmp_path / "fake.h5ad"
    txt.write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable h5ad"):
        ingest.ingest(txt, dataset="d")
    with pytest.raises(InputError, match="file not found"):
        ingest.ingest(tmp_path / "nope.h5ad", dataset="d")
    a = ad.AnnData(X=sp.csr_matrix((5, 4), dtype=np.float32), var=pd.DataFrame(index=list("ABCD")))
    a.obs_names = [f"c{i}" for i in range(5)]
    with pytest.raises(InputError, match="every count is zero"):
        ingest.ingest(_write(tmp_path, a, "zero.h5ad"), dataset="d")
    b = ad.AnnData(X=_counts(n=4, g=3), var=pd.DataFrame(index=list("ABC")))
    b.obs_names = ["x", "x", "y", "z"]
    with pytest.raises(InputError, match="duplicated cell barcodes"):
        ingest.ingest(_write(tmp_path, b, "dup.h5ad"), dataset="d")


def test_sha256_verified(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert ingest.verify_sha256(p, expected=known) == known
    assert ingest.verify_sha256(p, expected="") == known
    with pytest.raises(InputError, match="sha256 mismatch"):
        ingest.verify_sha256(p, expected="0" * 64)
