"""ingest(): metadata, bad files, .raw, aliases, mouse, guards and the summary."""

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from io_testdata import adata, counts, log1p_norm, write
from tmesig.io import IngestOptions, InputError, detect_species, find_counts, ingest


def test_ingest_normalises_metadata(tmp_path):
    x = counts()
    obs = pd.DataFrame(
        {"donor": np.repeat(["p1", "p2"], 100), "smp": np.repeat(["a", "b", "c", "d"], 50)},
        index=[f"c{i}" for i in range(200)],
    )
    a = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(100)]))
    p = write(tmp_path, a)
    out, summary = ingest(p, dataset="d", sample_col="smp", patient_col="donor")
    assert summary["samples"] == 4 and summary["patients"] == 2 and summary["cells"] == 200
    assert list(out.obs["sample"].cat.categories) == ["a", "b", "c", "d"]
    assert (out.obs["condition"] == "NA").all()
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
    assert "counts" not in out.layers  # stored once, in X
    out2, _ = ingest(p, dataset="d")
    assert (out2.obs["sample"] == "d").all() and (out2.obs["patient"] == "d").all()


def test_missing_obs_column_names_file_column_and_fix(tmp_path):
    a = ad.AnnData(X=counts(), var=pd.DataFrame(index=[f"G{i}" for i in range(100)]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    p = write(tmp_path, a)
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d", sample_col="patient_id")
    msg = str(err.value)
    assert str(p) in msg and "'patient_id'" in msg and "sample_col" in msg


def test_bad_files_are_refused(tmp_path):
    txt = tmp_path / "fake.h5ad"
    txt.write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable h5ad"):
        ingest(txt, dataset="d")
    with pytest.raises(InputError, match="file not found"):
        ingest(tmp_path / "nope.h5ad", dataset="d")
    a = ad.AnnData(X=sp.csr_matrix((5, 4), dtype=np.float32), var=pd.DataFrame(index=list("ABCD")))
    a.obs_names = [f"c{i}" for i in range(5)]
    with pytest.raises(InputError, match="every count is zero"):
        ingest(write(tmp_path, a, "zero.h5ad"), dataset="d")
    b = ad.AnnData(X=counts(n=4, g=3), var=pd.DataFrame(index=list("ABC")))
    b.obs_names = ["x", "x", "y", "z"]
    with pytest.raises(InputError, match="duplicated cell barcodes"):
        ingest(write(tmp_path, b, "dup.h5ad"), dataset="d")


def test_raw_with_more_genes_than_x_keeps_every_raw_gene(tmp_path):
    x = counts(seed=5, n=30, g=10)
    raw = adata(x, [f"G{i}" for i in range(10)])
    a = raw[:, :4].copy()
    a.X = log1p_norm(a.X).astype(np.float32) * 1.0001  # log values, not recoverable: raw must win
    a.raw = raw
    got, var, decision = find_counts(a)
    assert decision["source"] == "raw" and decision["genes_from"] == "raw"
    assert decision["raw_genes_not_in_X"] == 6
    np.testing.assert_array_equal(got.toarray(), x.toarray())
    assert list(var.index) == [f"G{i}" for i in range(10)]  # the columns are raw's genes
    out, summary = ingest(write(tmp_path, a), dataset="d")
    assert (
        list(out.var_names) == [f"G{i}" for i in range(10)] and summary["matrix"]["source"] == "raw"
    )


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
    x = counts(seed=10, n=20, g=len(genes))
    out, summary = ingest(write(tmp_path, adata(x, genes)), dataset="d")
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
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
    assert "counts" not in out.layers  # stored once, in X


def test_mouse_refused_unless_uppercased(tmp_path):
    genes = ["Cd3e", "Cd8a", "Ptprc", "Actb", "Gapdh", "Epcam", "B2m", "Stat1", "Nt5e", "Havcr2"]
    p = write(tmp_path, adata(counts(seed=11, n=20, g=len(genes)), genes))
    with pytest.raises(InputError, match="uppercase_mouse") as err:
        ingest(p, dataset="d")
    assert str(p) in str(err.value) and "mouse" in str(err.value)
    out, summary = ingest(p, dataset="d", options=IngestOptions(uppercase_mouse=True))
    assert "NT5E" in out.var_names and summary["gene_ids"]["uppercased_mouse_symbols"] is True
    assert detect_species(pd.Index(["C1orf112", "CD3E", "ACTB"]))["species"] == "human"
    assert detect_species(pd.Index(["ENSMUSG00000000001"] * 3))["species"] == "mouse"


def test_min_cells_and_signature_overlap_guards(tmp_path):
    p = write(tmp_path, adata(counts(seed=12, n=5, g=4), ["B2M", "CD274", "X1", "X2"]))
    with pytest.raises(InputError, match="only 5 cell"):
        ingest(p, dataset="d")
    out, _ = ingest(p, dataset="d", options=IngestOptions(min_cells=3), signature_genes={"B2M"})
    assert out.n_obs == 5
    with pytest.raises(InputError, match="is in any signature set") as err:
        ingest(p, dataset="d", options=IngestOptions(min_cells=3), signature_genes={"NT5E"})
    assert str(p) in str(err.value)


def test_summary_is_json_and_records_the_evidence(tmp_path):
    x = counts(seed=13)
    a = adata(log1p_norm(x), [f"G{i}" for i in range(100)])
    _, summary = ingest(write(tmp_path, a), dataset="d")
    s = json.loads(json.dumps(summary))
    assert s["matrix"]["state"] == "log1p_normalized" and s["matrix"]["recovered"] is True
    assert s["matrix"]["candidates"]["X"]["evidence"]["cv_total_expm1"] < 1e-2
