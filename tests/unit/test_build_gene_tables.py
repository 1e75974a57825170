"""resources/genes/build_gene_tables.py rebuilds the shipped gene and alias tables exactly."""

import importlib.util

import pandas as pd
import pytest
from tmesig import paths

SCRIPT = paths.RESOURCES / "genes" / "build_gene_tables.py"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_gene_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_derived_alias_rows_reproducible(build):
    derived = build.derive_renames(paths.GENE_TABLE, paths.GENCODE_V44)
    al = pd.read_csv(paths.ALIASES_TABLE, sep="\t")
    shipped = al[al["source"].str.startswith("GENCODE")]
    assert set(zip(shipped["alias"], shipped["symbol"], strict=True)) <= set(
        zip(derived["alias"], derived["symbol"], strict=True)
    )
    curated = set(al.loc[~al["source"].str.startswith("GENCODE"), "alias"])
    assert set(derived["alias"]) - curated == set(shipped["alias"])


def test_name_placeholders_hand_table(build, tmp_path):
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
    got = build.name_placeholders(tmp_path / "t.tsv", tmp_path / "g.csv")
    assert got.to_dict("records") == [
        {"gene_id": "ENSG01", "placeholder": "AC011462.1", "symbol": "TGFB1"}
    ]


def test_shipped_gene_table_is_source_with_placeholders_named(build):
    src = pd.read_csv(paths.GENE_TABLE_SOURCE, sep="\t", dtype=str)
    shipped = pd.read_csv(paths.GENE_TABLE, sep="\t", dtype=str)
    renames = build.name_placeholders(paths.GENE_TABLE_SOURCE, paths.GENCODE_V44)
    assert 100 <= len(renames) <= 120
    expected = src.copy()
    expected["gene_name"] = (
        expected["gene_id"]
        .map(dict(zip(renames["gene_id"], renames["symbol"], strict=True)))
        .fillna(expected["gene_name"])
    )
    pd.testing.assert_frame_equal(shipped, expected)
    assert (
        shipped["gene_name"].duplicated().sum() == src["gene_name"].duplicated().sum()
    )  # no new clash


def test_main_rebuilds_both_shipped_tables_byte_for_byte(build, tmp_path, capsys):
    assert build.main(["--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "grch38_genes.tsv").read_bytes() == paths.GENE_TABLE.read_bytes()
    assert (tmp_path / "aliases.tsv").read_bytes() == paths.ALIASES_TABLE.read_bytes()
    assert build.main(["--check"]) == 0
    (tmp_path / "aliases.tsv").write_text("alias\tsymbol\tsource\n")
    assert build.main(["--check", "--out-dir", str(tmp_path)]) == 1
    assert "aliases.tsv: differs from its rebuild" in capsys.readouterr().err
