import anndata as ad
import numpy as np
import pandas as pd
import pytest
from tmesig import composition, conditions, paths, signatures, simulate
from tmesig.io import InputError
from tmesig.stages import StageIO
from tmesig.stages import conditions as conditions_stage

SETS = ["tcell_exhaustion", "b2m_mhc1_apm"]
CONFIG = {"reference": None, "test": None, "min_patients": 3, "min_cells": 10, "alpha": 0.05}
OUTPUTS = [
    ("conditions", "tsv"),
    ("composition", "tsv"),
    ("composition_by_patient", "tsv"),
    ("composition_plot", "png"),
]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Simulated cells (obs only): 8 patients; exhaustion +1 in non-responders' T/NK cells."""
    d = tmp_path_factory.mktemp("cohort")
    obs = simulate.design(3_000, n_genes=1_000, n_patients=8, seed=1).obs
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.normal(0, 0.3, (len(obs), 2)), index=obs.index, columns=SETS)
    nr_t = ((obs["response"] == "NR") & (obs["compartment"] == "T_NK")).to_numpy()
    scores.loc[nr_t, "tcell_exhaustion"] += 1.0
    scores.to_parquet(d / "scores.parquet")
    ann = obs[["compartment"]].astype(str)
    ann.iloc[:30, 0] = "unassigned"
    ann.to_csv(d / "annotation.tsv", sep="\t")
    cells = obs[["patient"]].copy()
    cells["condition"] = obs["response"].astype(str)
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
            "sets": sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml")),
        },
        output={k: str(out_dir / f"{k}.{ext}") for k, ext in OUTPUTS},
        params={"conditions": {**CONFIG, **config}},
    )


def _read(path):
    return pd.read_csv(path, sep="\t")


def test_conditions_stage_writes_tables_and_figures(cohort, tmp_path):
    io = _io(cohort, tmp_path / "out")
    line = conditions_stage.run(io)
    assert line == (
        "condition comparison: Contrast(reference='NR', test='R', "
        "note=\"reference 'NR' chosen alphabetically\")"
    )
    res = _read(io.output["conditions"])
    assert len(res) == 2 * res["compartment"].nunique() and set(res["set"]) == set(SETS)
    assert "unassigned" not in set(res["compartment"])
    sig = res[res["significant"]]
    assert list(zip(sig["compartment"], sig["set"], strict=True)) == [("T_NK", "tcell_exhaustion")]
    assert res["note"].str.endswith("chosen alphabetically").all()
    # the same numbers as the package, formatted %.6g
    comp = pd.read_csv(cohort / "annotation.tsv", sep="\t", index_col=0)["compartment"]
    obs = ad.read_h5ad(cohort / "clustered.h5ad").obs
    contrast = conditions.Contrast("NR", "R", note="reference 'NR' chosen alphabetically")
    expected = conditions.compare_conditions(
        pd.read_parquet(cohort / "scores.parquet"),
        signatures.load_library(io.input["sets"]),
        compartment=comp,
        patient=obs["patient"],
        condition=obs["condition"],
        contrast=contrast,
    )
    text = expected.to_csv(sep="\t", index=False, float_format="%.6g")
    assert open(io.output["conditions"]).read() == text
    table = composition.composition_table(
        compartment=comp, patient=obs["patient"], condition=obs["condition"]
    )
    by_patient = table.to_csv(sep="\t", index=False, float_format="%.6g")
    assert open(io.output["composition_by_patient"]).read() == by_patient
    comp_res = _read(io.output["composition"])
    assert list(comp_res.columns[:5]) == [
        "compartment",
        "reference",
        "test",
        "fraction_ref",
        "fraction_test",
    ]
    assert len(comp_res) == 7 and (comp_res["design"] == "unpaired").all()
    assert open(io.output["composition_plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("out/forest*"))  # the forest plot is rule forest's


def test_conditions_stage_without_two_conditions(cohort, tmp_path):
    io = _io(cohort, tmp_path / "none", clustered="clustered_one.h5ad")
    assert conditions_stage.run(io) == "condition comparison: none"
    note = "no condition to compare: name a condition column (condition_col) in the sample sheet"
    for key in ("conditions", "composition"):
        assert _read(io.output[key]).to_dict("list") == {"note": [note]}
    assert set(_read(io.output["composition_by_patient"])["condition"]) == {"all"}


def test_conditions_stage_names_the_file_on_a_bad_contrast(cohort, tmp_path):
    io = _io(cohort, tmp_path / "bad", reference="R", test="responders")
    with pytest.raises(InputError, match=r"clustered\.h5ad: conditions \['responders'\]"):
        conditions_stage.run(io)
