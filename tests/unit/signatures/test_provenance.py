"""Provenance of the signature library: seed reviews by citation/DOI, published lists by source.

Only :func:`test_provenance_section_occurs_in_seed` reads the seed texts (``../shared/seeds``,
not shipped); every other check runs on any clone.
"""

import csv
import re
from pathlib import Path

import pytest
import yaml
from tmesig import paths
from tmesig.io.errors import InputError
from tmesig.signatures import SEEDS_TABLE, Seed, load_seeds

SET_FILES = sorted(paths.SIGNATURES_DIR.glob("*.yaml"))
SET_IDS = [p.stem for p in SET_FILES]
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _raw(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# ------------------------------------------------------------------ the seed reviews


def test_seed_table_names_the_three_reviews():
    seeds = load_seeds()
    assert SEEDS_TABLE.parent == paths.SIGNATURES_DIR
    assert list(seeds) == ["dai2024", "horvath2020", "xiao"]
    dai = seeds["dai2024"]
    assert dai.doi == "10.20517/cdr.2024.166"
    assert "Cancer Drug Resist 2024;7:52" in dai.citation
    assert dai.url == "https://doi.org/10.20517/cdr.2024.166"
    horvath = seeds["horvath2020"]
    assert horvath.doi == "10.1186/s12943-020-01260-z"
    assert "Mol Cancer 2020" in horvath.citation
    xiao = seeds["xiao"]
    assert xiao.doi == "" and xiao.url == ""
    assert "Heterogeneity of acquired resistance mechanisms" in xiao.citation


@pytest.mark.parametrize("seed", list(load_seeds().values()), ids=list(load_seeds()))
def test_every_seed_has_citation_doi_licence_and_file(seed: Seed):
    assert len(seed.citation) > 40
    assert seed.doi == "" or DOI_RE.match(seed.doi), seed.doi
    assert seed.licence
    assert seed.file.endswith(".txt")


def test_seed_table_errors(tmp_path):
    no_doi = tmp_path / "seeds.tsv"
    no_doi.write_text("id\tcitation\tlicence\tfile\nx\tX\tMIT\tx.txt\n", encoding="utf-8")
    with pytest.raises(InputError, match="doi"):
        load_seeds(no_doi)
    twice = tmp_path / "twice.tsv"
    twice.write_text(
        "id\tcitation\tdoi\tlicence\tfile\nx\tX\t\tMIT\tx.txt\nx\tY\t\tMIT\ty.txt\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="'x'"):
        load_seeds(twice)
    with pytest.raises(FileNotFoundError):
        load_seeds(tmp_path / "absent.tsv")


# ------------------------------------------------------------------ each set's seed


@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_provenance_seed_is_a_seed_id(path):
    prov = _raw(path)["provenance"]
    assert prov["seed"] in load_seeds()
    assert len(_normalise(prov["section"])) >= 2


def test_every_seed_review_is_used():
    used = {_raw(p)["provenance"]["seed"] for p in SET_FILES}
    assert used == set(load_seeds())


@pytest.mark.skipif(
    not paths.SEEDS_DIR.is_dir(), reason=f"seed documents not present at {paths.SEEDS_DIR}"
)
@pytest.mark.parametrize("path", SET_FILES, ids=SET_IDS)
def test_provenance_section_occurs_in_seed(path):
    prov = _raw(path)["provenance"]
    seed_file = load_seeds()[prov["seed"]].file
    text = _normalise((paths.SEEDS_DIR / seed_file).read_text(encoding="utf-8"))
    section = _normalise(prov["section"])
    assert section in text, f"{path.name}: section {section!r} not found in {seed_file}"


# ------------------------------------------------------------------ published lists


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


@pytest.fixture(scope="module")
def table_symbols() -> set[str]:
    """Gene symbols read straight from the TSV (independent of the module)."""
    with paths.GENE_TABLE.open(encoding="utf-8", newline="") as handle:
        return {row["gene_name"] for row in csv.DictReader(handle, delimiter="\t")}


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
