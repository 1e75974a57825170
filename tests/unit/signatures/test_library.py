"""Tests of the signature library (resources/signatures) and tmesig.signatures."""

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tmesig import paths
from tmesig.constants import DIRECTIONS, SET_COMPARTMENTS
from tmesig.io.errors import InputError
from tmesig.signatures import (
    CARD_ITEMS,
    GeneSet,
    card_genes,
    library_table,
    load_gene_set,
    load_gene_symbols,
    load_library,
    load_schema,
    load_seeds,
    read_gmt,
    state_lineages,
    write_gmt,
)

SET_FILES = sorted(paths.SIGNATURES_DIR.glob("*.yaml"))
SET_IDS = [p.stem for p in SET_FILES]


@pytest.fixture(scope="module")
def library() -> list[GeneSet]:
    return load_library()


@pytest.fixture(scope="module")
def table_symbols() -> set[str]:
    """Gene symbols read straight from the TSV (independent of the module)."""
    with paths.GENE_TABLE.open(encoding="utf-8", newline="") as handle:
        return {row["gene_name"] for row in csv.DictReader(handle, delimiter="\t")}


def _raw(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# ------------------------------------------------------------------ library content


def test_library_has_at_least_25_sets(library):
    assert len(SET_FILES) >= 25
    assert len(library) == len(SET_FILES)
    assert [s.name for s in library] == sorted(s.name for s in library)


@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_every_file_parses_and_validates(path):
    gene_set = load_gene_set(path)
    assert gene_set.name == path.stem
    assert gene_set.direction in ("up", "down")
    assert gene_set.direction in DIRECTIONS
    assert set(gene_set.compartments) <= set(SET_COMPARTMENTS) | set(state_lineages())
    assert len(gene_set.genes) == len(set(gene_set.genes)) >= 1
    # to_dict round-trips to the file content
    assert gene_set.to_dict() == _raw(path)


@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_every_gene_is_in_gene_table(path, table_symbols):
    genes = _raw(path)["genes"]
    missing = [g for g in genes if g not in table_symbols]
    assert not missing, f"{path.name}: not in gene table: {missing}"


def test_load_gene_symbols_matches_tsv(table_symbols):
    symbols = load_gene_symbols()
    assert symbols == frozenset(g for g in table_symbols if g)
    assert {"CD274", "NT5E", "B2M", "ARNTL"} <= symbols


def test_load_gene_symbols_needs_gene_name_column(tmp_path):
    table = tmp_path / "genes.tsv"
    table.write_text("symbol\nCD274\n", encoding="utf-8")
    with pytest.raises(InputError, match="gene_name"):
        load_gene_symbols(table)
    with pytest.raises(FileNotFoundError):
        load_gene_symbols(tmp_path / "absent.tsv")


def test_library_with_symbol_check(library):
    assert load_library(symbols=load_gene_symbols()) == library


def test_library_from_file_list(library):
    """Snakemake passes the set files themselves."""
    assert load_library([str(p) for p in SET_FILES]) == library


def test_schema_compartment_vocabulary_matches_constants():
    schema = load_schema()
    items = schema["properties"]["compartments"]["items"]["anyOf"]
    assert tuple(items[0]["enum"]) == SET_COMPARTMENTS
    assert tuple(schema["properties"]["direction"]["enum"]) == DIRECTIONS
    assert schema["additionalProperties"] is False
    assert schema["properties"]["provenance"]["additionalProperties"] is False


def test_card_items_present_with_required_genes(library):
    by_name = {s.name: s for s in library}
    assert len(CARD_ITEMS) == 9
    for item, card in CARD_ITEMS.items():
        set_name, genes = card.set_name, card.genes
        assert set_name in by_name, f"card item {item!r}: set {set_name} missing"
        gene_set = by_name[set_name]
        assert gene_set.card is True, f"{set_name} must have card: true"
        missing = set(genes) - set(gene_set.genes)
        assert not missing, f"card item {item!r}: {set_name} lacks {sorted(missing)}"
        assert card.named_gene is None or card.named_gene in genes
    card_sets = {s.name for s in library if s.card}
    assert card_sets == {item.set_name for item in CARD_ITEMS.values()}


def test_card_genes_of_the_shipped_library(library):
    """The genes the report's dotplot showed from config report.card_genes until now."""
    assert card_genes(library) == ["CD274", "NT5E", "LAG3", "HAVCR2", "TIGIT", "SLC7A11", "B2M"]


def test_card_genes_follow_the_library(library):
    no_pdl1 = [s for s in library if s.name != "cd274_pdl1"]
    assert "CD274" not in card_genes(no_pdl1)
    assert card_genes([s for s in library if not s.card]) == []
    assert card_genes([]) == []


def test_card_directions(library):
    by_name = {s.name: s for s in library}
    assert by_name["b2m_mhc1_apm"].direction == "down"
    assert by_name["ifng_jak_stat"].direction == "down"
    for name in ("cd274_pdl1", "nt5e_adenosine", "lag3_fgl1", "havcr2_tim3", "tigit_pvr"):
        assert by_name[name].direction == "up"


def test_sensitivity_sets_point_down(library):
    by_name = {s.name: s for s in library}
    for name in ("tcell_inflamed_gep_ayers", "tls_cabrita", "cd8_effector", "cdkn2a_mtap_9p21"):
        assert by_name[name].direction == "down", name


# ------------------------------------------------------------------ GMT and table


def test_gmt_round_trip(library, tmp_path):
    out = tmp_path / "sub" / "library.gmt"
    write_gmt(library, out)
    assert read_gmt(out) == {s.name: list(s.genes) for s in library}
    first = out.read_text(encoding="utf-8").splitlines()[0].split("\t")
    s0 = library[0]
    seed_id = s0.provenance["seed"]
    assert seed_id in load_seeds()
    assert first[1] == f"{s0.title} | {s0.direction} | {seed_id}"


def test_gmt_names_seed_by_id_and_keeps_the_sets(library, tmp_path):
    """The GMT names each set's seed review by its id (the seeds table gives citation and DOI)."""
    out = tmp_path / "library.gmt"
    write_gmt(library, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "ado_sidders\tAdenosine signalling signature (Sidders) | up | horvath2020\t"
        "PPARG\tCYBB\tCOL3A1\tFOXP3\tLAG3\tAPP\tCD81\tGPI\tPTGS2\tCASP1\tFOS\tMAPK1\tMAPK3\tCREB1"
    )
    seeds = {line.split("\t")[1].rsplit(" | ", 1)[1] for line in lines}
    assert seeds == set(load_seeds())


def test_read_gmt_rejects_bad_line(tmp_path):
    bad = tmp_path / "bad.gmt"
    bad.write_text("only_a_name\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.gmt"):
        read_gmt(bad)
    twice = tmp_path / "twice.gmt"
    twice.write_text("a\tx\tG1\na\ty\tG2\n", encoding="utf-8")
    with pytest.raises(InputError, match="repeats set name 'a'"):
        read_gmt(twice)


def test_library_table(library):
    table = library_table(library)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == [
        "name",
        "title",
        "n_genes",
        "direction",
        "direction_note",
        "compartments",
        "category",
        "card",
        "gene_level",
        "seed",
        "seed_citation",
        "seed_doi",
        "section",
        "citation",
        "source",
        "licence",
        "references",
        "genes",
    ]
    assert len(table) == len(library)
    row = table.set_index("name").loc["cd274_pdl1"]
    assert row["genes"] == "CD274,PDCD1LG2"
    assert row["n_genes"] == 2
    assert bool(row["card"]) is True
    assert table["card"].sum() == 9
    assert bool(row["gene_level"]) is True and "Reck M" in row["direction_note"]
    memory = table.set_index("name").loc["cd8_memory_stem"]
    assert "doi:10.1016/j.cell.2018.10.038" in memory["references"]
    assert memory["compartments"] == "T_NK,CD8_T,CD8_effector_memory"


def test_library_table_shows_seed_citation_and_doi(library):
    table = library_table(library).set_index("name")
    row = table.loc["circadian_crd"]
    assert row["seed"] == "dai2024"
    assert row["seed_citation"].startswith("Dai Y, Tian X, Ye X, Gong Y, Xu L, Jiao L.")
    assert row["seed_doi"] == "10.20517/cdr.2024.166"
    assert table.loc["cd274_pdl1", "seed_doi"] == "10.1186/s12943-020-01260-z"
    assert (table["seed_citation"] != "").all()
    assert not table["seed"].str.endswith(".txt").any()


def test_readme_lists_every_set(library):
    readme = (paths.SIGNATURES_DIR / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in library if not re.search(rf"`{re.escape(s.name)}`", readme)]
    assert not missing, f"README.md table lacks: {missing}"


# ------------------------------------------------------------------ bad files

GOOD = {
    "name": "toy_set",
    "title": "Toy set",
    "genes": ["CD274", "PDCD1LG2"],
    "direction": "up",
    "compartments": ["myeloid"],
    "mechanism": "A toy mechanism line for tests.",
    "category": "checkpoint",
    "card": False,
    "provenance": {"seed": "horvath2020", "section": "Immune checkpoints"},
}


def _write(tmp_path: Path, data: dict, stem: str = "toy_set") -> Path:
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_good_toy_file_loads(tmp_path):
    gene_set = load_gene_set(_write(tmp_path, GOOD))
    assert gene_set.genes == ("CD274", "PDCD1LG2")
    assert gene_set.notes == ""


@pytest.mark.parametrize(
    ("label", "change", "pattern"),
    [
        ("missing_field", lambda d: d.pop("mechanism"), "mechanism"),
        ("unknown_key", lambda d: d.update(colour="red"), "colour"),
        ("unknown_provenance_key", lambda d: d["provenance"].update(page=3), "page"),
        ("duplicate_gene", lambda d: d["genes"].append("CD274"), "CD274"),
        ("bad_direction", lambda d: d.update(direction="sideways"), "sideways"),
        ("bad_compartment", lambda d: d.update(compartments=["T NK"]), "T NK"),
        ("bad_seed", lambda d: d["provenance"].update(seed="other.txt"), "other.txt"),
        ("unknown_seed", lambda d: d["provenance"].update(seed="smith1999"), "smith1999"),
        (
            "seed_file_name",
            lambda d: d["provenance"].update(seed="001_605cc9f51f1d3c85.txt"),
            "001_605cc9f51f1d3c85.txt",
        ),
        ("card_not_bool", lambda d: d.update(card="yes"), "card"),
        (
            "published_without_licence",
            lambda d: d["provenance"].update(
                resource="genesets/x.csv", citation="X", source="Y", source_set="X"
            ),
            "licence",
        ),
    ],
)
def test_bad_file_raises_naming_file(tmp_path, label, change, pattern):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(ValueError) as excinfo:
        load_gene_set(path)
    assert isinstance(excinfo.value, InputError), label
    message = str(excinfo.value)
    assert str(path) in message, label
    assert pattern in message, label


def test_name_differs_from_stem(tmp_path):
    path = _write(tmp_path, GOOD, stem="other_name")
    with pytest.raises(ValueError, match=r"other_name\.yaml.*toy_set"):
        load_gene_set(path)


def test_not_a_mapping_and_bad_yaml(tmp_path):
    listing = tmp_path / "toy_set.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="toy_set.yaml"):
        load_gene_set(listing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.yaml"):
        load_gene_set(broken)
    with pytest.raises(FileNotFoundError):
        load_gene_set(tmp_path / "absent.yaml")


def test_unknown_gene_with_symbol_check(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["genes"] = ["CD274", "NOTAGENE99"]
    path = _write(tmp_path, data)
    assert load_gene_set(path).genes == ("CD274", "NOTAGENE99")
    with pytest.raises(ValueError, match=r"toy_set\.yaml.*NOTAGENE99"):
        load_gene_set(path, symbols=load_gene_symbols())


def test_library_rejects_duplicate_names(tmp_path):
    _write(tmp_path, GOOD)
    (tmp_path / "toy_set_copy.yaml").write_text(
        yaml.safe_dump({**GOOD, "name": "toy_set_copy"}), encoding="utf-8"
    )
    assert [s.name for s in load_library(tmp_path)] == ["toy_set", "toy_set_copy"]
    with pytest.raises(ValueError, match="duplicate set name"):
        write_gmt([load_gene_set(tmp_path / "toy_set.yaml")] * 2, tmp_path / "x.gmt")


def test_library_errors(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path)):
        load_library(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_library(tmp_path / "absent")
