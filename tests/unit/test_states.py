"""tmesig.states: the final per-cell state from a hand-made subsets table."""

import numpy as np
import pandas as pd
import pytest
from tmesig.constants import MALIGNANT, NORMAL_EPITHELIUM, UNASSIGNED
from tmesig.stages import StageIO
from tmesig.stages import states as stage
from tmesig.states import StateOptions, final_states, state_parents
from tmesig.subsets import DEFAULT_SUBSET_MARKERS as MARKERS_PATH
from tmesig.subsets import load_subset_markers

MARKERS = load_subset_markers()
U = UNASSIGNED
#: cell: lineage, lineage confidence, cluster subset (+conf), cell subset (+conf), cnv call
ROWS = {
    "exh": ("T_NK", 0.9, "CD8_T", 0.6, "CD8_exhausted", 0.7, "non-malignant"),
    "root": ("T_NK", 0.9, "CD8_effector_memory", 0.5, "CD8_T", 0.4, "non-malignant"),
    "cellU": ("T_NK", 0.8, "Treg", 0.6, U, 0.1, "non-malignant"),
    "mac": ("myeloid", 0.7, "macrophage", 0.5, "macrophage", 0.55, "non-malignant"),
    "epiM": ("epithelial", 0.95, U, 0.0, U, 0.0, MALIGNANT),
    "epiN": ("epithelial", 0.85, "alveolar_epithelium", 0.5, "alveolar_epithelium", 0.6,
             "non-malignant"),
    "epiU": ("epithelial", 0.75, U, 0.0, U, 0.0, "uncertain"),
    "fibM": ("fibroblast", 0.6, "CAF", 0.5, "CAF", 0.5, MALIGNANT),
    "none": (U, 0.2, U, 0.0, U, 0.0, "non-malignant"),
}  # fmt: skip


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.DataFrame.from_dict(
        ROWS,
        orient="index",
        columns=["compartment", "confidence", "subset", "subset_confidence", "cell_subset",
                 "cell_subset_confidence", "cnv_call"],
    )  # fmt: skip
    df.index.name = "cell"
    return df[["compartment", "confidence"]], df.drop(columns=["compartment", "confidence"])


def test_cell_source_states_by_hand():
    lineages, subsets = _tables()
    out = final_states(lineages, subsets, markers=MARKERS, options=StateOptions(source="cell"))
    expected = {
        "exh": ("CD8_exhausted", 0.7, "T_NK"),
        "root": ("CD8_T", 0.4, "T_NK"),
        "cellU": (U, 0.1, "T_NK"),
        "mac": ("macrophage", 0.55, "myeloid"),
        "epiM": (MALIGNANT, 0.95, "epithelial"),
        "epiN": (NORMAL_EPITHELIUM, 0.85, "epithelial"),
        "epiU": (U, np.nan, "epithelial"),
        "fibM": (MALIGNANT, 0.6, "epithelial"),  # lineage kept, parent is the state's
        "none": (U, 0.0, U),
    }
    for cell, (state, conf, parent) in expected.items():
        row = out.loc[cell]
        assert (row["state"], row["parent"]) == (state, parent), cell
        assert row["state_confidence"] == pytest.approx(conf, nan_ok=True), cell
    assert out.loc["fibM", "compartment"] == "fibroblast"
    assert out.attrs["malignant_outside_epithelial"] == 1
    assert list(out.columns[:2]) == ["compartment", "confidence"]


def test_sources_differ_as_documented():
    lineages, subsets = _tables()
    cluster = final_states(lineages, subsets, markers=MARKERS, options=StateOptions("cluster"))
    both = final_states(
        lineages, subsets, markers=MARKERS, options=StateOptions("cell_then_cluster")
    )
    assert cluster.loc[["exh", "root", "cellU"], "state"].tolist() == [
        "CD8_T",
        "CD8_effector_memory",
        "Treg",
    ]
    # the cell call where it is assigned, the sub-cluster call where it is not
    assert both.loc[["exh", "root", "cellU"], "state"].tolist() == [
        "CD8_exhausted",
        "CD8_T",
        "Treg",
    ]
    assert both.loc["cellU", "state_confidence"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="source"):
        StateOptions(source="best")


def test_subsets_disabled_all_unassigned():
    lineages, _ = _tables()
    out = final_states(lineages, None, markers=MARKERS)
    assert (out["state"] == U).all()
    assert out["parent"].tolist() == lineages["compartment"].tolist()
    assert out["state_confidence"].isna().all()


def test_one_parent_per_state_and_unknown_state_refused():
    parents = state_parents(MARKERS)
    assert parents[MALIGNANT] == parents[NORMAL_EPITHELIUM] == "epithelial"
    assert parents["CD8_exhausted"] == "T_NK" and parents["CAF"] == "fibroblast"
    lineages, subsets = _tables()
    subsets.loc["mac", "cell_subset"] = "M2_like"
    with pytest.raises(ValueError, match="M2_like"):
        final_states(lineages, subsets, markers=MARKERS)


def test_cells_missing_from_subsets_are_unassigned():
    lineages, subsets = _tables()
    out = final_states(lineages, subsets.drop(index=["exh"]), markers=MARKERS)
    assert out.loc["exh", "state"] == U and out.loc["exh", "parent"] == "T_NK"


@pytest.mark.parametrize("enabled", [True, False])
def test_stage_writes_annotation(tmp_path, enabled):
    lineages, subsets = _tables()
    lineages.to_csv(tmp_path / "lin.tsv", sep="\t")
    calls = subsets.drop(columns=["cnv_call"]).assign(lineage=lineages["compartment"])
    calls.to_parquet(tmp_path / "sub.parquet")
    cnv = subsets[["cnv_call"]].assign(cnv_score=np.linspace(0, 1, len(subsets)))
    cnv.to_parquet(tmp_path / "cnv.parquet")
    io = StageIO(
        input={
            "lineages": str(tmp_path / "lin.tsv"),
            "subsets": [str(tmp_path / "sub.parquet")] if enabled else [],
            "cnv": [str(tmp_path / "cnv.parquet")] if enabled else [],
            "markers": str(MARKERS_PATH),
        },
        output={"cells": str(tmp_path / "annotation.tsv"), "subsets": str(tmp_path / "s.tsv")},
    )
    line = stage.run(io)
    out = pd.read_csv(tmp_path / "annotation.tsv", sep="\t", index_col=0)
    assert out.index.name == "cell" and len(out) == len(ROWS)
    if enabled:
        assert out.loc["exh", "state"] == "CD8_exhausted"
        assert "2 malignant, 1 of them annotated outside the epithelial lineage" in line
        # annotation_subsets.tsv: the subset calls, the CNV columns, final_subset by hand
        joined = pd.read_csv(tmp_path / "s.tsv", sep="\t", index_col=0)
        assert list(joined.columns) == [*calls.columns, "cnv_call", "cnv_score", "final_subset"]
        final = joined["final_subset"].to_dict()
        assert final["epiM"] == final["fibM"] == MALIGNANT  # copy number wins
        assert final["epiN"] == "alveolar_epithelium" and final["exh"] == "CD8_T"
        assert final["epiU"] == U  # uncertain: not malignant, not other_normal_epithelium
    else:
        assert set(out["state"]) == {U} and "disabled" in line
        assert not (tmp_path / "s.tsv").exists()
