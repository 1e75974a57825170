"""Tests for tmesig.marker_files: the checks both marker files share, seen through both loaders."""

from pathlib import Path

import pytest
from tmesig.annotate import load_markers
from tmesig.io.errors import InputError
from tmesig.marker_files import check_lineage, gene_list
from tmesig.subsets import load_subset_markers

LOADERS = [
    pytest.param(load_markers, "Marker file", "compartments", id="compartments"),
    pytest.param(load_subset_markers, "Subset marker file", "lineages", id="subsets"),
]


def test_gene_list() -> None:
    assert gene_list([" CD3D", "CD3E", "CD3D "], error="x") == ("CD3D", "CD3E")
    assert gene_list(None, error="x", allow_empty=True) == ()
    assert gene_list([], error="x", allow_empty=True) == ()
    for bad in (None, [], "CD3D", ["CD3D", ""], ["CD3D", 3], {"a": 1}):
        with pytest.raises(InputError, match="^boom$"):
            gene_list(bad, error="boom")


def test_check_lineage() -> None:
    check_lineage("T_NK", where="f", noun="lineage")
    with pytest.raises(InputError, match=r"^f: unknown lineage 'Tcells'; use one of T_NK, "):
        check_lineage("Tcells", where="f", noun="lineage")


@pytest.mark.parametrize(("loader", "label", "section"), LOADERS)
def test_missing_file(loader, label: str, section: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"{label} .*none.yaml does not exist"):
        loader(tmp_path / "none.yaml")


@pytest.mark.parametrize(("loader", "label", "section"), LOADERS)
def test_invalid_yaml(loader, label: str, section: str, tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(f"{section}:\n  a: [unclosed\n")
    with pytest.raises(InputError, match="is not valid YAML") as info:
        loader(f)
    assert str(info.value).startswith(f"{label} {f} ")


@pytest.mark.parametrize(("loader", "label", "section"), LOADERS)
def test_missing_section(loader, label: str, section: str, tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("provenance: {x: 1}\n")
    with pytest.raises(InputError, match=f"no top-level '{section}:' mapping") as info:
        loader(f)
    assert str(info.value).startswith(f"{label} {f} ")
