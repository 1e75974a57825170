"""Stage ``signatures``: the library's GMT and table written from the set files."""

import pandas as pd
import pytest
import yaml
from tmesig import paths
from tmesig.io.errors import InputError
from tmesig.signatures import library_table, load_library, read_gmt
from tmesig.stages import StageIO
from tmesig.stages import signatures as stage

SET_FILES = sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml"))


def test_signatures_stage_writes_gmt_and_table(tmp_path):
    files = [f for f in SET_FILES if f.endswith(("cd274_pdl1.yaml", "cyt_rooney.yaml"))]
    io = StageIO(
        input={"sets": files},
        output={"gmt": str(tmp_path / "sig" / "tmesig.gmt"), "table": str(tmp_path / "lib.tsv")},
    )
    assert stage.run(io) == "2 gene sets exported"
    gmt = (tmp_path / "sig" / "tmesig.gmt").read_text(encoding="utf-8")
    assert gmt == (
        "cd274_pdl1\tPD-L1 / PD-L2 checkpoint ligands | up | horvath2020\t"
        "CD274\tPDCD1LG2\n"
        "cyt_rooney\tCytolytic activity (GZMA, PRF1) | down | horvath2020\t"
        "PRF1\tGZMA\n"
    )
    table = pd.read_csv(tmp_path / "lib.tsv", sep="\t", keep_default_na=False)
    assert table["name"].tolist() == ["cd274_pdl1", "cyt_rooney"]
    assert table["seed"].tolist() == ["horvath2020", "horvath2020"]
    assert table["seed_doi"].tolist() == ["10.1186/s12943-020-01260-z"] * 2
    assert table.loc[1, "citation"] == "Rooney MS et al. Cell 2015;160:48-61"


def test_signatures_stage_full_library(tmp_path):
    io = StageIO(
        input={"sets": SET_FILES},
        output={"gmt": str(tmp_path / "tmesig.gmt"), "table": str(tmp_path / "library.tsv")},
    )
    library = load_library()
    assert stage.run(io) == f"{len(library)} gene sets exported"
    assert read_gmt(tmp_path / "tmesig.gmt") == {s.name: list(s.genes) for s in library}
    expected = library_table(library)
    expected.to_csv(tmp_path / "expected.tsv", sep="\t", index=False)
    written = (tmp_path / "library.tsv").read_bytes()
    assert written == (tmp_path / "expected.tsv").read_bytes()


def test_signatures_stage_checks_set_states_against_the_run_markers(tmp_path):
    """A set naming a state of the run's markers file passes; with the shipped markers (no
    such state) the stage refuses it, naming the set file, the state and the fix."""
    data = yaml.safe_load((paths.SIGNATURES_DIR / "treg.yaml").read_text())
    data["compartments"] = ["T_NK", "Treg_effector"]
    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "treg.yaml").write_text(yaml.safe_dump(data))
    out = {"gmt": str(tmp_path / "t.gmt"), "table": str(tmp_path / "t.tsv")}
    with pytest.raises(InputError) as err:
        stage.run(StageIO(input={"sets": [str(sets / "treg.yaml")]}, output=out))
    msg = str(err.value)
    assert msg.startswith(f"{sets / 'treg.yaml'}: ") and "Treg_effector" in msg
    assert not (tmp_path / "t.gmt").exists() and not (tmp_path / "t.tsv").exists()
    markers = yaml.safe_load((paths.MARKERS_DIR / "subsets.yaml").read_text())
    markers["lineages"]["T_NK"]["Treg_effector"] = {
        "parent": "CD4_T",
        "genes": ["FOXP3", "CCR8"],
        "source": "test",
    }
    (tmp_path / "subsets.yaml").write_text(yaml.safe_dump(markers))
    io = StageIO(
        input={"sets": [str(sets / "treg.yaml")], "markers": str(tmp_path / "subsets.yaml")},
        output=out,
    )
    assert stage.run(io) == "1 gene sets exported"
