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


# --- issue 6: matrix states, .raw, aliases, mouse, guards ------------------------------------


def _adata(x, genes, n=None):
    a = ad.AnnData(X=x, var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    return a


def test_raw_with_more_genes_than_x_keeps_every_raw_gene(tmp_path):
    x = _counts(seed=5, n=30, g=10)
    raw = _adata(x, [f"G{i}" for i in range(10)])
    a = raw[:, :4].copy()
    a.X = _log1p_norm(a.X).astype(np.float32) * 1.0001  # log values, not recoverable: raw must win
    a.raw = raw
    counts, decision = find_counts(a)
    assert decision["source"] == "raw" and decision["genes_from"] == "raw"
    assert decision["raw_genes_not_in_X"] == 6
    np.testing.assert_array_equal(counts.toarray(), x.toarray())
    out, summary = ingest.ingest(_write(tmp_path, a), dataset="d")
    assert (
        list(out.var_names) == [f"G{i}" for i in range(10)] and summary["matrix"]["source"] == "raw"
    )


def test_raw_same_genes_other_order_is_aligned_to_x():
    x = _counts(seed=6, n=20, g=5)
    raw = _adata(x, list("ABCDE"))
    a = raw[:, [4, 3, 2, 1, 0]].copy()
    a.X = _log1p_norm(a.X) * 1.0001
    a.raw = raw
    counts, decision = find_counts(a)
    np.testing.assert_array_equal(counts.toarray(), x.toarray()[:, ::-1])


def test_tpm_states_and_allow_non_counts():
    x = _counts(seed=7)
    tpm = sp.csr_matrix(
        sp.diags(1e6 / np.asarray(x.sum(1)).ravel()) @ sp.csr_matrix(x, dtype=np.float64)
    )
    assert detect_matrix_state(tpm).state == "normalized"  # unlogged TPM is not counts
    log2 = tpm.copy()
    log2.data = np.log2(log2.data + 1)
    a = ad.AnnData(X=log2)
    with pytest.raises(InputError, match="allow_non_counts"):
        find_counts(a)
    vals, decision = find_counts(a, allow_non_counts=True)
    assert decision["state"] == "log2_tpm" and decision["non_counts"] is True
    np.testing.assert_allclose(vals.toarray(), tpm.toarray(), rtol=1e-5)


def test_forced_source_and_its_absence():
    x = _counts(seed=8)
    a = ad.AnnData(X=_log1p_norm(x))
    a.layers["umis"] = x
    _, decision = find_counts(a, source="layers/umis")
    assert decision["source"] == "layers/umis" and decision["requested"] == "layers/umis"
    with pytest.raises(InputError, match="ingest.matrix_source"):
        find_counts(a, source="layers/spliced")


def test_nan_and_negative_named():
    x = _counts(seed=9).toarray()
    x[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN or infinite"):
        find_counts(ad.AnnData(X=x))
    y = _counts(seed=9).toarray()
    y[0, 0] = -2
    with pytest.raises(InputError, match="negative values"):
        find_counts(ad.AnnData(X=y))


def test_aliases_resolved_to_the_library_spelling(tmp_path):
    # newer symbols (BMAL1, STING1, RIGI, WARS1) and protein names (CD73, TIM-3, PD-L1) in the data
    genes = [
        "BMAL1",
        "STING1",
        "RIGI",
        "WARS1",
        "CD73",
        "TIM-3",
        "PD-L1",
        "PDCD1LG2",
        "B2M",
        "PD-L2",
    ]
    x = _counts(seed=10, n=20, g=len(genes))
    out, summary = ingest.ingest(_write(tmp_path, _adata(x, genes)), dataset="d")
    assert list(out.var_names) == [
        "ARNTL",
        "TMEM173",
        "DDX58",
        "WARS",
        "NT5E",
        "HAVCR2",
        "CD274",
        "PDCD1LG2",
        "B2M",
        "PD-L2",
    ]
    # PD-L2 stays: its symbol PDCD1LG2 is already measured under its own name
    assert (
        summary["aliases_renamed"]["BMAL1"] == "ARNTL" and "PD-L2" not in summary["aliases_renamed"]
    )
    np.testing.assert_array_equal(out.layers["counts"].toarray(), x.toarray())


def test_two_aliases_of_one_gene_are_summed():
    sym, renames = ingest.resolve_aliases(pd.Index(["PD-L1", "B7-H1", "B2M"]))
    assert list(sym) == ["CD274", "CD274", "B2M"] and renames == {
        "B7-H1": "CD274",
        "PD-L1": "CD274",
    }
    m = sp.csr_matrix(np.array([[1, 2, 3]], dtype=np.float32))
    summed, names = ingest.sum_duplicate_genes(m, sym)
    assert list(names) == ["CD274", "B2M"] and summed.toarray().tolist() == [[3, 3]]


def test_alias_table_targets_exist_and_aliases_are_not_symbols():
    table = pd.read_csv(ingest.paths.GENE_TABLE, sep="\t", usecols=["gene_name"])["gene_name"]
    al = pd.read_csv(ingest.ALIAS_TABLE, sep="\t")
    assert list(al.columns) == ["alias", "symbol", "source"] and al["alias"].is_unique
    assert al["symbol"].isin(set(table)).all() and not al["alias"].isin(set(table)).any()
    for alias, sym in {
        "BMAL1": "ARNTL",
        "STING1": "TMEM173",
        "RIGI": "DDX58",
        "CD73": "NT5E",
        "TIM-3": "HAVCR2",
        "PD-L1": "CD274",
        "PD-L2": "PDCD1LG2",
        "MARCHF1": "MARCH1",
    }.items():
        assert al.set_index("alias").loc[alias, "symbol"] == sym


GENCODE = (
    ingest.paths.REPO_ROOT.parent / "shared" / "resources" / "genes" / "gencode_v44_id2name.csv"
)


@pytest.mark.skipif(not GENCODE.exists(), reason="shared/ GENCODE v44 list not present")
def test_derived_alias_rows_reproducible():
    derived = ingest.derive_renames(ingest.paths.GENE_TABLE, GENCODE)
    al = pd.read_csv(ingest.ALIAS_TABLE, sep="\t")
    shipped = al[al["source"].str.startswith("GENCODE")]
    assert set(zip(shipped["alias"], shipped["symbol"])) <= set(
        zip(derived["alias"], derived["symbol"])
    )
    curated = set(al.loc[~al["source"].str.startswith("GENCODE"), "alias"])
    assert set(derived["alias"]) - curated == set(shipped["alias"])


def test_mouse_refused_unless_uppercased(tmp_path):
    genes = ["Cd3e", "Cd8a", "Ptprc", "Actb", "Gapdh", "Epcam", "B2m", "Stat1", "Nt5e", "Havcr2"]
    p = _write(tmp_path, _adata(_counts(seed=11, n=20, g=len(genes)), genes))
    with pytest.raises(InputError, match="uppercase_mouse") as err:
        ingest.ingest(p, dataset="d")
    assert str(p) in str(err.value) and "mouse" in str(err.value)
    out, summary = ingest.ingest(p, dataset="d", uppercase_mouse=True)
    assert "NT5E" in out.var_names and summary["gene_ids"]["uppercased_mouse_symbols"] is True
    assert ingest.detect_species(pd.Index(["C1orf112", "CD3E", "ACTB"]))["species"] == "human"
    assert ingest.detect_species(pd.Index(["ENSMUSG00000000001"] * 3))["species"] == "mouse"


def test_unmapped_ensembl_ids_kept_not_dropped():
    ids = pd.Index(["ENSG00000120217.3", "ENSG99999999999"])
    sym, info = ingest.map_gene_ids(pd.DataFrame(index=ids), ids)
    assert (
        list(sym) == ["CD274", "ENSG99999999999"] and info["unmapped"] == 1 and info["mapped"] == 1
    )
    var = pd.DataFrame({"feature_name": ["", "B2M"]}, index=["ENSG00000120217", "ENSG00000166710"])
    sym, info = ingest.map_gene_ids(var, pd.Index(var.index))
    assert list(sym) == ["CD274", "B2M"]  # an empty feature_name falls back to the table


def test_min_cells_and_signature_overlap_guards(tmp_path):
    p = _write(tmp_path, _adata(_counts(seed=12, n=5, g=4), ["B2M", "CD274", "X1", "X2"]))
    with pytest.raises(InputError, match="only 5 cell"):
        ingest.ingest(p, dataset="d")
    out, _ = ingest.ingest(p, dataset="d", min_cells=3, signature_genes={"B2M"})
    assert out.n_obs == 5
    with pytest.raises(InputError, match="is in any signature set") as err:
        ingest.ingest(p, dataset="d", min_cells=3, signature_genes={"NT5E"})
    assert str(p) in str(err.value)


def test_summary_is_json_and_records_the_evidence(tmp_path):
    x = _counts(seed=13)
    a = _adata(_log1p_norm(x), [f"G{i}" for i in range(100)])
    _, summary = ingest.ingest(_write(tmp_path, a), dataset="d")
    import json

    s = json.loads(json.dumps(summary))
    assert s["matrix"]["state"] == "log1p_normalized" and s["matrix"]["recovered"] is True
    assert s["matrix"]["candidates"]["X"]["evidence"]["cv_total_expm1"] < 1e-2


def test_name_placeholders_hand_table(tmp_path):
    table = pd.DataFrame(
        {
            "gene_id": [
                "ENSG01",
                "ENSG02",
                "ENSG03",
                "ENSG04",
                "ENSG05",
                "ENSG06",
                "ENSG07",
                "ENSG08",
            ],
            "gene_name": [
                "AC011462.1",
                "AL000001.1",
                "AC000002.1",
                "AC000003.1",
                "AC000004.1",
                "AC000005.1",
                "CD3E",
                "AC000006.2",
            ],
            "biotype": [
                "protein_coding",
                "lincRNA",
                "protein_coding",
                "protein_coding",
                "protein_coding",
                "protein_coding",
                "protein_coding",
                "protein_coding",
            ],
        }
    )
    table.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    (tmp_path / "g.csv").write_text(
        "ENSG01.4,TGFB1\n"  # renamed
        "ENSG02.1,LINCX\n"  # not protein coding
        "ENSG03.1,CD3E\n"  # already a table symbol
        "ENSG04.1,ENSG00000000004\n"  # no symbol in GENCODE either
        "ENSG05.1,DUPNAME\n"  # names two genes: ambiguous
        "ENSG06.1,DUPNAME\n"
        "ENSG07.1,CD3E\n"  # not a placeholder
        "ENSG08.1,AC999999.1\n"  # still a clone name
    )
    got = ingest.name_placeholders(tmp_path / "t.tsv", tmp_path / "g.csv")
    assert got.to_dict("records") == [
        {"gene_id": "ENSG01", "placeholder": "AC011462.1", "symbol": "TGFB1"}
    ]


SOURCE_TABLE = ingest.paths.REPO_ROOT.parent / "shared" / "resources" / "genes" / "grch38_genes.tsv"


@pytest.mark.skipif(
    not (GENCODE.exists() and SOURCE_TABLE.exists()), reason="shared/ gene tables not present"
)
def test_shipped_gene_table_is_source_with_placeholders_named():
    src = pd.read_csv(SOURCE_TABLE, sep="\t", dtype=str)
    shipped = pd.read_csv(ingest.paths.GENE_TABLE, sep="\t", dtype=str)
    renames = ingest.name_placeholders(SOURCE_TABLE, GENCODE)
    assert 100 <= len(renames) <= 120
    expected = src.copy()
    expected["gene_name"] = (
        expected["gene_id"]
        .map(dict(zip(renames["gene_id"], renames["symbol"])))
        .fillna(expected["gene_name"])
    )
    pd.testing.assert_frame_equal(shipped, expected)
    assert (
        shipped["gene_name"].duplicated().sum() == src["gene_name"].duplicated().sum()
    )  # no new clash


def test_clone_named_genes_now_map_from_ensembl():
    ids = pd.Index(["ENSG00000105329", "ENSG00000179094", "ENSG00000076706", "ENSG00000100721"])
    sym, info = ingest.map_gene_ids(pd.DataFrame(index=ids), ids)
    assert list(sym) == ["TGFB1", "PER1", "MCAM", "TCL1A"] and info["unmapped"] == 0
