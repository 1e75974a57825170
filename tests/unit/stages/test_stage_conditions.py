import anndata as ad
import numpy as np
import pandas as pd
import pytest
from tmesig import conditions, paths, signatures, simulate
from tmesig.io import InputError
from tmesig.stages import StageIO
from tmesig.stages import conditions as conditions_stage

SETS = ["tcell_exhaustion", "b2m_mhc1_apm"]
CONFIG = {"reference": None, "test": None, "min_patients": 3, "min_cells": 10, "alpha": 0.05}
# hand-written coverage: the stage copies these counts into every row of the set
COVERAGE = pd.DataFrame({"set": SETS, "n_genes": [12, 9], "n_found": [11, 4]})


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Simulated cells (obs only): 8 patients sampled pre and post; P01-P03 pre only.

    Exhaustion +1 in post-treatment CD8 T cells (state CD8_T of lineage T_NK); P04's pre
    sample keeps only 5 CD8 T cells (the rest unassigned), so it is left out of CD8_T.
    """
    d = tmp_path_factory.mktemp("cohort")
    obs = simulate.design(3_000, n_genes=1_000, n_patients=8, seed=1).obs
    obs = obs[~obs["sample"].isin(["P01_post", "P02_post", "P03_post"])]
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.normal(0, 0.3, (len(obs), 2)), index=obs.index, columns=SETS)
    post_cd8 = ((obs["timepoint"] == "post") & (obs["cell_type"] == "CD8_T")).to_numpy()
    scores.loc[post_cd8, "tcell_exhaustion"] += 1.0
    scores.to_parquet(d / "scores.parquet")
    ann = obs[["compartment"]].astype(str)
    ann["state"] = obs["cell_type"].astype(str)
    ann["parent"] = ann["compartment"]
    p04 = np.flatnonzero((obs["sample"] == "P04_pre") & (obs["cell_type"] == "CD8_T"))
    ann.iloc[p04[5:], ann.columns.get_loc("state")] = "unassigned"
    ann.iloc[:30, 0] = "unassigned"
    ann.to_csv(d / "annotation.tsv", sep="\t")
    COVERAGE.to_csv(d / "coverage.tsv", sep="\t", index=False)
    cells = obs[["patient", "sample"]].astype(str)
    cells["condition"] = obs["timepoint"].astype(str)
    ad.AnnData(obs=cells).write_h5ad(d / "clustered.h5ad")
    cells["condition"] = "all"
    ad.AnnData(obs=cells).write_h5ad(d / "clustered_one.h5ad")
    return d


def _io(cohort, out_dir, clustered="clustered.h5ad", **config):
    out_dir.mkdir(exist_ok=True)
    return StageIO(
        input={
            "scores": str(cohort / "scores.parquet"),
            "annotation": str(cohort / "annotation.tsv"),
            "clustered": str(cohort / clustered),
            "coverage": str(cohort / "coverage.tsv"),
            "sets": sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml")),
        },
        output={"conditions": str(out_dir / "conditions.tsv")},
        params={"conditions": {**CONFIG, **config}},
    )


def _read(path):
    return pd.read_csv(path, sep="\t")


@pytest.fixture(scope="module")
def result(cohort, tmp_path_factory):
    io = _io(cohort, tmp_path_factory.mktemp("out"))
    line = conditions_stage.run(io)
    return io, line, _read(io.output["conditions"])


def test_conditions_stage_tests_lineages_and_states(cohort, result):
    io, line, res = result
    assert line == (
        "condition comparison: Contrast(reference='post', test='pre', "
        "note=\"reference 'post' chosen alphabetically\")"
    )
    ann = pd.read_csv(cohort / "annotation.tsv", sep="\t", index_col=0)
    lineages = set(ann["compartment"]) - {"unassigned"}
    states = set(ann["state"]) - {"unassigned"}
    got = res.groupby("level")["compartment"].agg(set).to_dict()
    assert got == {"lineage": lineages, "state": states}
    assert len(res) == 2 * (len(lineages) + len(states)) and set(res["set"]) == set(SETS)
    parent = res[res["level"] == "state"].set_index("compartment")["parent"].to_dict()
    assert parent["CD8_T"] == "T_NK" and parent["malignant"] == "epithelial"
    lin = res[res["level"] == "lineage"]
    assert (lin["parent"] == lin["compartment"]).all()
    # gene counts copied from coverage.tsv, per set
    counts = res.groupby("set")[["n_genes_found", "n_genes"]].agg(set)
    assert counts.loc["tcell_exhaustion"].tolist() == [{11}, {12}]
    assert counts.loc["b2m_mhc1_apm"].tolist() == [{4}, {9}]
    # exhaustion was planted only in post CD8 T cells (post is the reference: effect < 0)
    sig = res[res["significant"]]
    assert ("state", "CD8_T", "tcell_exhaustion") in set(
        zip(sig["level"], sig["compartment"], sig["set"], strict=True)
    )
    assert set(sig["set"]) == {"tcell_exhaustion"} and (sig["effect"] < 0).all()


def test_conditions_stage_uses_every_patient(cohort, result):
    _, _, res = result
    row = res[(res["compartment"] == "CD8_T") & (res["set"] == "tcell_exhaustion")].iloc[0]
    # 5 patients sampled post, 8 pre; P04's pre sample has 5 CD8 T cells: left out, as is any
    # other sample with fewer than 10 CD8 T cells (counted here by hand)
    ann = pd.read_csv(cohort / "annotation.tsv", sep="\t", index_col=0)
    obs = ad.read_h5ad(cohort / "clustered.h5ad").obs
    n = obs[ann["state"] == "CD8_T"].groupby(["patient", "condition"], observed=True).size()
    kept = n[n >= 10].reset_index()
    post = set(kept.loc[kept["condition"] == "post", "patient"])
    pre = set(kept.loc[kept["condition"] == "pre", "patient"])
    assert "P04" not in pre and len(kept) >= 10
    assert row["design"] == "mixed" and row["method"].startswith("mixed model")
    expected = (len(post), len(pre), len(post & pre), len(kept))
    assert (row["n_ref"], row["n_test"], row["n_pairs"], row["n_samples"]) == expected
    assert row["note"].startswith("left out, fewer than 10 cells:") and "P04 (pre)" in row["note"]
    assert row["note"].endswith("reference 'post' chosen alphabetically")
    lineage = res[(res["compartment"] == "T_NK") & (res["set"] == "tcell_exhaustion")].iloc[0]
    assert (lineage["n_ref"], lineage["n_test"], lineage["n_pairs"]) == (5, 8, 5)


def test_conditions_stage_equals_the_package(cohort, result):
    io, _, _ = result
    ann = pd.read_csv(cohort / "annotation.tsv", sep="\t", index_col=0)
    obs = ad.read_h5ad(cohort / "clustered.h5ad").obs
    scores = pd.read_parquet(cohort / "scores.parquet")
    expected = conditions.compare_conditions(
        scores,
        signatures.load_library(io.input["sets"]),
        cells=obs.join(ann).reindex(scores.index),
        contrast=conditions.Contrast("post", "pre", note="reference 'post' chosen alphabetically"),
        coverage=COVERAGE,
    )
    text = expected.to_csv(sep="\t", index=False, float_format="%.6g")
    assert open(io.output["conditions"]).read() == text
    # deterministic: a second run writes the same bytes
    io2 = _io(cohort, cohort / "again")
    conditions_stage.run(io2)
    assert open(io2.output["conditions"]).read() == text


def test_conditions_stage_without_two_conditions(cohort, tmp_path):
    io = _io(cohort, tmp_path / "none", clustered="clustered_one.h5ad")
    assert conditions_stage.run(io) == "condition comparison: none"
    note = (  # the column holds one condition, 'all': naming a column is not the fix
        "no condition to compare: every cell of the dataset is of condition 'all' (its "
        "condition column has one value); to compare conditions, put the samples of both in "
        "one dataset (one sample-sheet row)"
    )
    assert _read(io.output["conditions"]).to_dict("list") == {"note": [note]}
    assert sorted(p.name for p in tmp_path.joinpath("none").iterdir()) == ["conditions.tsv"]


def test_conditions_stage_names_the_file_on_a_bad_contrast(cohort, tmp_path):
    io = _io(cohort, tmp_path / "bad", reference="pre", test="responders")
    with pytest.raises(InputError, match=r"clustered\.h5ad: conditions \['responders'\]"):
        conditions_stage.run(io)
    assert not (tmp_path / "bad" / "conditions.tsv").exists()


def test_samples_as_patients_said_in_every_row(cohort, tmp_path):
    # pre and post without a patient column: compared as independent samples, and said so
    obs = ad.read_h5ad(cohort / "clustered.h5ad").obs
    obs["patient"] = obs["sample"]
    ad.AnnData(obs=obs).write_h5ad(tmp_path / "clustered_nopatient.h5ad")
    io = _io(cohort, tmp_path / "out", clustered="clustered_nopatient.h5ad")
    io.input["clustered"] = str(tmp_path / "clustered_nopatient.h5ad")
    conditions_stage.run(io)
    table = _read(io.output["conditions"])
    assert table["note"].str.contains("name the patient column (patient_col)", regex=False).all()
    assert set(table["design"]) <= {"unpaired", "insufficient"}
    io = _io(cohort, tmp_path / "paired")  # with patients: no such note
    conditions_stage.run(io)
    assert not _read(io.output["conditions"])["note"].str.contains("patient_col").any()
