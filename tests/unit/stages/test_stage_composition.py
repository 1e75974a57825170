import anndata as ad
import numpy as np
import pandas as pd
import pytest
from tmesig import composition, paths, simulate
from tmesig.io import InputError
from tmesig.stages import StageIO
from tmesig.stages import composition as composition_stage

CONFIG = {"reference": "R", "test": "NR", "min_patients": 3, "min_cells": 10, "alpha": 0.05}
OUTPUTS = [("composition", "tsv"), ("composition_by_patient", "tsv"), ("composition_plot", "png")]
STATE = {"CD4_T": "CD4_conventional", "fibroblast": "CAF", "malignant": "malignant"}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Simulated truth (obs only): 8 patients; CD8 shifted towards exhaustion in NR."""
    d = tmp_path_factory.mktemp("cohort")
    obs = simulate.design(
        6_000, n_genes=1_000, n_patients=8, programs=(simulate.CD8_EXHAUSTED_SHIFT,), seed=3
    ).obs
    ct = obs["cell_type"].astype(str)
    known = ct.isin(["CD8_effector_memory", "CD8_exhausted", *STATE])
    ann = pd.DataFrame(
        {
            "compartment": obs["compartment"].astype(str),
            "confidence": 0.9,
            "state": np.where(known, ct.replace(STATE), "unassigned"),
            "state_confidence": np.where(known, 0.8, 0.1),
            "parent": obs["compartment"].astype(str),
        },
        index=obs.index,
    )
    ann.iloc[:25, 0] = "unassigned"
    ann.to_csv(d / "annotation.tsv", sep="\t")
    ann.drop(columns=["state", "state_confidence", "parent"]).to_csv(
        d / "annotation_lineages.tsv", sep="\t"
    )
    cells = obs[["patient"]].copy()
    cells["condition"] = obs["response"].astype(str)
    ad.AnnData(obs=cells).write_h5ad(d / "clustered.h5ad")
    cells["condition"] = "all"
    ad.AnnData(obs=cells).write_h5ad(d / "clustered_one.h5ad")
    return d


def _io(cohort, out_dir, clustered="clustered.h5ad", annotation="annotation.tsv", **config):
    out_dir.mkdir(exist_ok=True)
    return StageIO(
        input={
            "annotation": str(cohort / annotation),
            "clustered": str(cohort / clustered),
            "subset_markers": str(paths.MARKERS_DIR / "subsets.yaml"),
        },
        output={k: str(out_dir / f"{k}.{ext}") for k, ext in OUTPUTS},
        params={"conditions": {**CONFIG, **config}},
    )


def _read(path):
    return pd.read_csv(path, sep="\t")


def test_composition_stage_finds_the_planted_state_shift(cohort, tmp_path):
    io = _io(cohort, tmp_path / "out")
    line = composition_stage.run(io)
    res = _read(io.output["composition"])
    states = res[res["level"] == "state"]
    hits = states[states["significant"]]
    # the planted shift: exhausted up among CD8 in non-responders (and effector/memory down)
    assert set(zip(hits["denominator"], hits["compartment"], strict=True)) == {
        ("CD8_T", "CD8_exhausted"),
        ("CD8_T", "CD8_effector_memory"),
    }
    row = states.set_index("compartment").loc["CD8_exhausted"]
    assert row["effect"] > 0 and row["parent"] == "T_NK" and "Welch" in row["method"]
    assert line == f"composition (R -> NR): 2 of {len(states)} state shares differ (FDR <= 0.05)"
    lineage = res[res["level"] == "lineage"]
    assert set(lineage["denominator"]) == {"assigned cells"}
    assert (lineage["parent"] == lineage["compartment"]).all()
    assert "unassigned" not in set(res["compartment"])
    # by patient: lineage rows as composition_table, then the state rows
    by = _read(io.output["composition_by_patient"])
    ann = pd.read_csv(cohort / "annotation.tsv", sep="\t", index_col=0)
    obs = ad.read_h5ad(cohort / "clustered.h5ad").obs
    lin = composition.composition_table(
        compartment=ann["compartment"], patient=obs["patient"], condition=obs["condition"]
    )
    assert len(by[by["level"] == "lineage"]) == len(lin)
    cd8 = ann["state"].isin(["CD8_exhausted", "CD8_effector_memory"])
    p1 = cd8 & (obs["patient"] == "P01").to_numpy()
    got = by[(by.patient == "P01") & (by.compartment == "CD8_exhausted")].iloc[0]
    assert got["n_total"] == p1.sum()
    assert got["n_cells"] == (p1 & (ann["state"] == "CD8_exhausted")).sum()
    assert open(io.output["composition_plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_composition_stage_without_states_or_conditions(cohort, tmp_path):
    io = _io(cohort, tmp_path / "lin", annotation="annotation_lineages.tsv")
    assert composition_stage.run(io) == (
        "composition (R -> NR): lineages only (no confident cell states)"
    )
    assert set(_read(io.output["composition"])["level"]) == {"lineage"}
    io = _io(cohort, tmp_path / "none", clustered="clustered_one.h5ad", reference=None, test=None)
    assert composition_stage.run(io) == "composition: no condition to compare"
    note = (  # the column holds one condition, 'all': naming a column is not the fix
        "no condition to compare: every cell of the dataset is of condition 'all' (its "
        "condition column has one value); to compare conditions, put the samples of both in "
        "one dataset (one sample-sheet row)"
    )
    assert _read(io.output["composition"]).to_dict("list") == {"note": [note]}
    assert set(_read(io.output["composition_by_patient"])["condition"]) == {"all"}


def test_composition_stage_names_the_file_on_a_bad_contrast(cohort, tmp_path):
    io = _io(cohort, tmp_path / "bad", reference="R", test="responders")
    with pytest.raises(InputError, match=r"clustered\.h5ad: conditions \['responders'\]"):
        composition_stage.run(io)
    assert not list((tmp_path / "bad").iterdir())  # nothing written
