"""Stage tables: one HTML page per table of the report, from the tables the other stages wrote."""

import pandas as pd
from tmesig.stages import StageIO
from tmesig.stages import tables as tables_stage
from tmesig.tables import SPECS


def _write(tmp_path):
    """Small source tables in the layout the stages write (one per source of SPECS)."""
    t = {
        "flags": pd.DataFrame(
            {"compartment": ["a", "b"], "set": ["s", "s"], "fdr": [0.5, 0.01], "p": [0.1, 0.001]}
        ),
        "annotation": pd.DataFrame(
            {
                "cell": ["c1", "c2", "c3"],
                "cluster": [0, 0, 1],
                "compartment": ["myeloid", "myeloid", "T_NK"],
                "confidence": [0.9, 0.9, 0.4],
                "cell_compartment": ["myeloid", "T_NK", "T_NK"],
                "score_myeloid": [0.5, 0.2, 0.0],
            }
        ),
        "conditions": pd.DataFrame({"note": ["no condition to compare: name a condition column"]}),
    }
    inputs = {}
    for spec in SPECS.values():
        if spec.source in ("annotation_subsets", "annotation_subclusters"):
            continue  # the subset stage is off
        table = t.get(spec.source, pd.DataFrame({"note": ["x"]}))
        path = tmp_path / f"{spec.source}.tsv"
        table.to_csv(path, sep="\t", index=False)
        inputs[spec.source] = str(path)
    return inputs


def test_tables_stage_writes_every_page(tmp_path):
    inputs = _write(tmp_path)
    outputs = {name: str(tmp_path / "tables" / f"{name}.html") for name in SPECS}
    (tmp_path / "tables").mkdir()
    summary = tables_stage.run(StageIO(input=inputs, output=outputs, params={"max_rows": 50}))
    assert summary == f"{len(SPECS)} tables as sortable HTML pages"
    pages = {name: (tmp_path / "tables" / f"{name}.html").read_text() for name in SPECS}
    flags = pages["flags"]
    assert flags.index('\\"b\\"') < flags.index('\\"a\\"')  # lowest FDR first
    counts = pages["compartment_counts"]
    assert "<dt>cells_own_call_differs</dt>" in counts and "score_myeloid" not in counts
    assert "no condition to compare" in pages["conditions"]
    for name in ("subset_counts", "annotation_subclusters"):
        assert "subsets.enabled: false" in pages[name]
