"""Multi-file merge over shared genes, missing labels, the design and config-named columns."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from io_testdata import counts, write
from tmesig.io import InputError, check_named_columns, ingest, intersect_files, map_gene_ids


def _file(tmp_path, name, genes, seed, obs=None):
    x = counts(seed=seed, n=20, g=len(genes))
    a = ad.AnnData(X=x, var=pd.DataFrame(index=genes), obs=obs)
    a.obs_names = [f"c{i}" for i in range(20)]
    return write(tmp_path, a, name), x


def test_files_with_different_genes_are_intersected_never_zero_filled(tmp_path):
    p1, x1 = _file(tmp_path, "R1.h5ad", ["B2M", "HLA-A", "RPL13", "CD274", "G1"], seed=1)
    p2, x2 = _file(tmp_path, "NR1.h5ad", ["CD274", "G1", "B2M"], seed=2)  # no HLA-A, RPL13
    out, s = ingest(f"{p1},{p2}", dataset="d", signature_genes={"HLA-A", "CD274", "B2M"})
    assert list(out.var_names) == ["B2M", "CD274", "G1"]  # the first file's order
    m = out.X.toarray()
    np.testing.assert_array_equal(m[:20], x1.toarray()[:, [0, 3, 4]])
    np.testing.assert_array_equal(m[20:], x2.toarray()[:, [2, 0, 1]])
    assert s["gene_merge"] == "intersection" and s["genes_dropped"] == 2
    assert s["genes_dropped_list"] == ["HLA-A", "RPL13"] and s["library_genes_lost"] == ["HLA-A"]
    assert s["genes_missing_per_file"] == {"R1": 0, "NR1": 2}
    assert any("not measured is not a zero" in n for n in s["notes"])


def test_files_sharing_no_gene_are_refused():
    m = sp.csr_matrix(np.ones((2, 2)))
    with pytest.raises(InputError, match="share no gene"):
        intersect_files([m, m], [pd.Index(["A", "B"]), pd.Index(["C", "D"])], labels=["x", "y"])


def test_a_single_file_records_no_dropped_gene(tmp_path):
    p, _ = _file(tmp_path, "one.h5ad", ["B2M", "CD274"], seed=3)
    _, s = ingest(p, dataset="d")
    assert s["genes_dropped"] == 0 and s["library_genes_lost"] == []


def test_ensembl_ids_mixed_with_symbols_are_mapped_one_by_one():
    # CD274, B2M as Ensembl IDs (one versioned), two symbols, one unknown ID
    names = pd.Index(["ENSG00000120217.14", "NT5E", "ENSG00000166710", "HAVCR2", "ENSG99999999999"])
    sym, info = map_gene_ids(pd.DataFrame(index=names), names)
    assert list(sym) == ["CD274", "NT5E", "B2M", "HAVCR2", "ENSG99999999999"]
    assert info["id_type"] == "mixed" and info["ensembl_ids"] == 3 and info["symbols_kept"] == 2
    assert info["mapped"] == 2 and info["unmapped"] == 1


@pytest.mark.parametrize("bad", ["nan", "", "None"])
def test_missing_looking_sample_labels_refused(tmp_path, bad):
    obs = pd.DataFrame({"smp": ["a"] * 17 + [bad] * 3}, index=[f"c{i}" for i in range(20)])
    p, _ = _file(tmp_path, "d.h5ad", ["B2M", "CD274"], seed=4, obs=obs)
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d", sample_col="smp")
    msg = str(err.value)
    assert str(p) in msg and "'smp'" in msg and "3 of 20 cells without a label" in msg
    assert "sample_col" in msg


def test_condition_or_patient_varying_within_a_sample_refused(tmp_path):
    obs = pd.DataFrame(
        {
            "smp": np.repeat(["s1", "s2"], 10),
            "resp": ["R"] * 10 + ["R"] * 4 + ["NR"] * 6,  # s2 holds R and NR cells
            "donor": ["p1"] * 10 + ["p2"] * 10,
        },
        index=[f"c{i}" for i in range(20)],
    )
    p, _ = _file(tmp_path, "d.h5ad", ["B2M", "CD274"], seed=5, obs=obs)
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d", sample_col="smp", condition_col="resp")
    msg = str(err.value)
    assert str(p) in msg and "'resp' varies within samples" in msg
    assert "1 of 2 samples" in msg and "s2: NR, R" in msg and "condition_col" in msg
    with pytest.raises(InputError, match="'resp' varies within samples.*no sample column"):
        ingest(p, dataset="d", condition_col="resp")  # the whole file is one sample
    out, _ = ingest(p, dataset="d", sample_col="smp", patient_col="donor")
    assert out.obs.groupby("sample", observed=True)["patient"].nunique().max() == 1
    obs2 = obs.assign(donor=["p1", "p2"] * 10)
    p2, _ = _file(tmp_path, "e.h5ad", ["B2M", "CD274"], seed=6, obs=obs2)
    with pytest.raises(InputError, match="patient column 'donor' varies"):
        ingest(p2, dataset="d", sample_col="smp", patient_col="donor")


def test_label_col_and_batch_key_checked_against_the_ingested_columns():
    obs = pd.DataFrame(
        {"sample": ["a"], "patient": ["a"], "condition": ["NA"], "orig_cell_type": ["T"]}
    )
    check_named_columns(obs, label_col="cell_type", batch_key="sample", where="f.h5ad")
    with pytest.raises(InputError) as err:
        check_named_columns(obs, label_col="celltype", batch_key=None, where="f.h5ad")
    msg = str(err.value)
    assert "f.h5ad" in msg and "'celltype'" in msg and "cell_type" in msg and "label_col" in msg
    with pytest.raises(InputError) as err:
        check_named_columns(obs, label_col=None, batch_key="cell_type", where="f.h5ad")
    msg = str(err.value)
    assert "cluster.batch_key 'cell_type'" in msg and "'orig_cell_type'" in msg


def test_labels_stripped_and_labels_differing_only_in_case_refused(tmp_path):
    obs = pd.DataFrame(
        {
            "smp": np.repeat(["s1", "s2", "s3", "s4"], 5),
            "resp": ["R"] * 5 + ["R "] * 5 + ["NR"] * 5 + [" NR"] * 5,  # one level each, spaced
            "donor": np.repeat(["p1", "p2", "p3", "p4"], 5),
        },
        index=[f"c{i}" for i in range(20)],
    )
    p, _ = _file(tmp_path, "d.h5ad", ["B2M", "CD274"], seed=7, obs=obs)
    out, s = ingest(p, dataset="d", sample_col="smp", condition_col="resp", patient_col="donor")
    assert list(out.obs["condition"].cat.categories) == ["NR", "R"]
    assert s["conditions"] == ["NR", "R"]
    for col, role, bad in [("resp", "condition", "r"), ("donor", "patient", "P1")]:
        values = obs[col].to_numpy().copy()
        values[5:10] = bad  # s2's label differs from s1's only in case
        p2, _ = _file(
            tmp_path, f"{role}.h5ad", ["B2M", "CD274"], seed=8, obs=obs.assign(**{col: values})
        )
        with pytest.raises(InputError) as err:
            ingest(p2, dataset="d", sample_col="smp", condition_col="resp", patient_col="donor")
        msg = str(err.value)
        assert str(p2) in msg and f"{col!r} ({role})" in msg and "differ only in letter case" in msg
        assert f"'{bad}'" in msg and f"'{role}_col'" in msg
