"""Gene identifiers: Ensembl IDs mapped offline, symbol columns, aliases, duplicated symbols."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tmesig import paths
from tmesig.io import ALIAS_TABLE, map_gene_ids, resolve_aliases, sum_duplicate_genes


def test_ensembl_ids_mapped_offline_and_duplicates_summed():
    # CD274, B2M and NT5E by their Ensembl IDs (GRCh38), one with a version suffix;
    # the last two columns carry the same symbol and must be summed.
    ids = ["ENSG00000120217.14", "ENSG00000166710", "ENSG00000135318", "ENSG00000135318.2"]
    sym, info = map_gene_ids(pd.DataFrame(index=ids), pd.Index(ids))
    assert list(sym) == ["CD274", "B2M", "NT5E", "NT5E"]
    assert info["id_type"] == "ensembl"
    m = sp.csr_matrix(np.array([[1, 2, 3, 4], [0, 5, 0, 6]], dtype=np.float32))
    summed, names = sum_duplicate_genes(m, sym)
    assert list(names) == ["CD274", "B2M", "NT5E"]
    np.testing.assert_array_equal(summed.toarray(), [[1, 2, 7], [0, 5, 6]])


def test_feature_name_column_wins_over_the_table():
    ids = pd.Index(["ENSG00000120217", "ENSG00000166710"])
    var = pd.DataFrame({"feature_name": ["PDL1_alias", "B2M"]}, index=ids)
    sym, info = map_gene_ids(var, ids)
    assert list(sym) == ["PDL1_alias", "B2M"] and info["symbol_source"] == "var['feature_name']"


def test_two_aliases_of_one_gene_are_summed():
    sym, renames = resolve_aliases(pd.Index(["PD-L1", "B7-H1", "B2M"]))
    assert list(sym) == ["CD274", "CD274", "B2M"] and renames == {
        "B7-H1": "CD274",
        "PD-L1": "CD274",
    }
    m = sp.csr_matrix(np.array([[1, 2, 3]], dtype=np.float32))
    summed, names = sum_duplicate_genes(m, sym)
    assert list(names) == ["CD274", "B2M"] and summed.toarray().tolist() == [[3, 3]]


def test_alias_table_targets_exist_and_aliases_are_not_symbols():
    table = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name"])["gene_name"]
    al = pd.read_csv(ALIAS_TABLE, sep="\t")
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


def test_unmapped_ensembl_ids_kept_not_dropped():
    ids = pd.Index(["ENSG00000120217.3", "ENSG99999999999"])
    sym, info = map_gene_ids(pd.DataFrame(index=ids), ids)
    assert (
        list(sym) == ["CD274", "ENSG99999999999"] and info["unmapped"] == 1 and info["mapped"] == 1
    )
    var = pd.DataFrame({"feature_name": ["", "B2M"]}, index=["ENSG00000120217", "ENSG00000166710"])
    sym, info = map_gene_ids(var, pd.Index(var.index))
    assert list(sym) == ["CD274", "B2M"]  # an empty feature_name falls back to the table


def test_clone_named_genes_now_map_from_ensembl():
    ids = pd.Index(["ENSG00000105329", "ENSG00000179094", "ENSG00000076706", "ENSG00000100721"])
    sym, info = map_gene_ids(pd.DataFrame(index=ids), ids)
    assert list(sym) == ["TGFB1", "PER1", "MCAM", "TCL1A"] and info["unmapped"] == 0
