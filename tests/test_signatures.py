"""Tests of the signature library (resources/signatures) and tmesig.signatures."""

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tmesig import paths
from tmesig.signatures import (
    CARD_ITEMS,
    COMPARTMENTS,
    GeneSet,
    library_table,
    load_gene_set,
    load_gene_symbols,
    load_library,
    load_schema,
    read_gmt,
    write_gmt,
)

SEEDS_DIR = paths.REPO_ROOT.parent / "shared" / "seeds"
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


def _normalise(text: str) -> str:
    return " ".join(text.split())


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
    assert set(gene_set.compartments) <= set(COMPARTMENTS)
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


def test_library_with_symbol_check(library):
    assert load_library(symbols=load_gene_symbols()) == library


def test_schema_compartment_vocabulary_matches_module():
    schema = load_schema()
    assert tuple(schema["properties"]["compartments"]["items"]["enum"]) == COMPARTMENTS
    assert schema["additionalProperties"] is False
    assert schema["properties"]["provenance"]["additionalProperties"] is False


def test_card_items_present_with_required_genes(library):
    by_name = {s.name: s for s in library}
    assert len(CARD_ITEMS) == 9
    for item, (set_name, genes) in CARD_ITEMS.items():
        assert set_name in by_name, f"card item {item!r}: set {set_name} missing"
        gene_set = by_name[set_name]
        assert gene_set.card is True, f"{set_name} must have card: true"
        missing = set(genes) - set(gene_set.genes)
        assert not missing, f"card item {item!r}: {set_name} lacks {sorted(missing)}"
    card_sets = {s.name for s in library if s.card}
    assert card_sets == {item.set_name for item in CARD_ITEMS.values()}


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


# ------------------------------------------------------------------ provenance


@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_provenance_seed_is_a_seed_file(path):
    prov = _raw(path)["provenance"]
    assert prov["seed"] in paths.SEEDS_DIR_NAMES


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason=f"seed documents not present at {SEEDS_DIR}")
@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_provenance_section_occurs_in_seed(path):
    prov = _raw(path)["provenance"]
    text = _normalise((SEEDS_DIR / prov["seed"]).read_text(encoding="utf-8"))
    section = _normalise(prov["section"])
    assert section in text, f"{path.name}: section {section!r} not found in {prov['seed']}"


def _source_genes(prov: dict) -> list[str]:
    """The published list, read directly from the resource file."""
    resource = paths.RESOURCES / prov["resource"]
    if resource.suffix == ".csv":
        rows = list(csv.DictReader(resource.open(encoding="utf-8", newline="")))
        rows = [r for r in rows if r["signature_name"] == prov["source_set"]]
        if prov.get("positive_weight_only"):
            rows = [r for r in rows if r["weight"] not in ("", "NA") and float(r["weight"]) > 0]
        return [r["gene_name"] for r in rows]
    for line in resource.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == prov["source_set"]:
            return [g for g in fields[2:] if g]
    raise AssertionError(f"{prov['source_set']} not in {resource}")


def _is_published(path: Path) -> bool:
    """Collection-time filter; unreadable files are reported by the parse test."""
    try:
        return "resource" in _raw(path)["provenance"]
    except Exception:
        return False


PUBLISHED = [p for p in SET_FILES if _is_published(p)]


def test_there_are_published_sets():
    assert len(PUBLISHED) >= 8


@pytest.mark.parametrize("path", PUBLISHED, ids=[p.stem for p in PUBLISHED])
def test_published_genes_equal_source(path, table_symbols):
    data = _raw(path)
    prov = data["provenance"]
    source = _source_genes(prov)
    assert source, f"{path.name}: empty source list"
    renamed = prov.get("renamed", {})
    dropped = prov.get("dropped", [])
    assert set(renamed) <= set(source)
    assert set(dropped) <= set(source)
    assert not set(dropped) & table_symbols, "a dropped symbol is in the gene table"
    expected = [renamed.get(g, g) for g in source if g not in dropped]
    assert data["genes"] == expected
    for symbol in [*renamed, *dropped]:
        assert symbol in data.get("notes", ""), f"{path.name}: {symbol} not recorded in notes"
    if prov["resource"].startswith("genesets/bhklab_io/"):
        assert prov["licence"] == "MIT"
        assert prov["source"].startswith("bhklab/SignatureSets")
    else:
        assert prov["resource"] == "genesets/h.all.v7.5.1.symbols.gmt"
        assert prov["licence"] == "CC BY 4.0"
        assert prov["source"].startswith("MSigDB Hallmark v7.5.1")


# ------------------------------------------------------------------ GMT and table


def test_gmt_round_trip(library, tmp_path):
    out = tmp_path / "sub" / "library.gmt"
    write_gmt(library, out)
    assert read_gmt(out) == {s.name: list(s.genes) for s in library}
    first = out.read_text(encoding="utf-8").splitlines()[0].split("\t")
    s0 = library[0]
    assert first[1] == f"{s0.title} | {s0.direction} | {s0.provenance['seed']}"


def test_read_gmt_rejects_bad_line(tmp_path):
    bad = tmp_path / "bad.gmt"
    bad.write_text("only_a_name\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.gmt"):
        read_gmt(bad)


def test_library_table(library):
    table = library_table(library)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == [
        "name",
        "title",
        "n_genes",
        "direction",
        "compartments",
        "card",
        "seed",
        "section",
        "citation",
        "source",
        "licence",
        "genes",
    ]
    assert len(table) == len(library)
    row = table.set_index("name").loc["cd274_pdl1"]
    assert row["genes"] == "CD274,PDCD1LG2"
    assert row["n_genes"] == 2
    assert bool(row["card"]) is True
    assert table["card"].sum() == 9


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
    "card": False,
    "provenance": {"seed": "001_605cc9f51f1d3c85.txt", "section": "Immune checkpoints"},
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
        ("bad_compartment", lambda d: d.update(compartments=["liver"]), "liver"),
        ("bad_seed", lambda d: d["provenance"].update(seed="other.txt"), "other.txt"),
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
