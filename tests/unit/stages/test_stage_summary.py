"""Stages summary and cross_dataset on hand-made result files (no pipeline run)."""

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from tmesig.paths import SIGNATURES_DIR
from tmesig.signatures import load_library
from tmesig.stages import StageIO, cross_dataset, summary

SETS = sorted(str(p) for p in SIGNATURES_DIR.glob("*.yaml"))
FLAG = {"unit": "sample", "alpha": 0.05, "min_effect": 0.5, "min_samples": 3, "min_cells": 10}
CONDITIONS = {"min_cells": 10, "min_patients": 3, "alpha": 0.05}
NO_CONDITION = pd.DataFrame({"note": ["no condition to compare: name a condition column"]})
#: flags.tsv: one flagged pre-specified row, one that fails on FDR, one exploratory.
FLAGS = pd.DataFrame(
    {
        "compartment": ["myeloid", "T_NK", "myeloid"],
        "set": ["m2_tam", "treg", "treg"],
        "direction": "up",
        "applies": [True, True, False],
        "family": ["primary", "primary", "exploratory"],
        "n_samples": 4,
        "resistance_effect": [1.5, 0.9, 0.7],
        "null_z": [1.0, 1.0, 1.0],
        "p": [0.001, 0.04, 0.01],
        "fdr": [0.002, 0.08, 0.01],
        "flagged": [True, False, False],
        "top_genes": ["CD163:+0.100", "FOXP3:+0.050", ""],
        "note": "",
    }
)


def _coverage() -> pd.DataFrame:
    sets = load_library(SETS)
    return pd.DataFrame(
        {
            "set": [gs.name for gs in sets],
            "n_genes": [len(gs.genes) for gs in sets],
            "n_found": [len(gs.genes) for gs in sets],
            "scored": True,
            "reason": "",
            "genes_missing": "",
        }
    )


def _write_dataset(d: Path, *, patients: int) -> dict:
    """Result files of a dataset with ``patients`` patients x 30 cells (myeloid/T_NK)."""
    d.mkdir(parents=True)
    rng = np.random.default_rng(patients)
    n = 30 * patients
    cells = [f"c{i}" for i in range(n)]
    patient = np.repeat([f"p{i}" for i in range(patients)], 30)
    comp = np.tile(["myeloid"] * 15 + ["T_NK"] * 12 + ["unassigned"] * 3, patients)
    scores = pd.DataFrame({"m2_tam": rng.normal(size=n), "treg": rng.normal(size=n)}, index=cells)
    scores.to_parquet(d / "scores.parquet")
    pd.DataFrame({"compartment": comp}, index=pd.Index(cells, name="cell")).to_csv(
        d / "annotation.tsv", sep="\t"
    )
    obs = pd.DataFrame({"patient": patient, "condition": "NA"}, index=cells)
    var = pd.DataFrame(index=["B2M", "NT5E", "CD274"])
    ad.AnnData(obs=obs, var=var).write_h5ad(d / "clustered.h5ad")
    ingest = {"cells": n, "genes": 3, "samples": patients, "patients": patients}
    (d / "ingest_summary.json").write_text(json.dumps({**ingest, "matrix": {"state": "counts"}}))
    qc = pd.DataFrame({"sample": [f"p{i}" for i in range(patients)], "cells_in": 30})
    qc.assign(cells_kept=30, n_doublet=0).to_csv(d / "qc_summary.tsv", sep="\t", index=False)
    _coverage().to_csv(d / "coverage.tsv", sep="\t", index=False)
    FLAGS.to_csv(d / "flags.tsv", sep="\t", index=False)
    NO_CONDITION.to_csv(d / "conditions.tsv", sep="\t", index=False)
    NO_CONDITION.to_csv(d / "composition.tsv", sep="\t", index=False)
    names = ["ingest_summary.json", "qc_summary.tsv", "coverage.tsv", "flags.tsv"]
    names += ["conditions.tsv", "composition.tsv", "annotation.tsv", "scores.parquet"]
    names += ["clustered.h5ad"]
    inputs = {Path(x).stem: str(d / x) for x in names}
    return {**inputs, "sets": SETS}


def _io(d: Path, inputs: dict, dataset: str) -> StageIO:
    return StageIO(
        input=inputs,
        output={
            "md": str(d / "summary.md"),
            "html": str(d / "summary.html"),
            "patients": str(d / "patients.tsv"),
            "heatmap_dir": str(d / "report" / "patients"),
        },
        params={"flag": FLAG, "conditions": CONDITIONS},
        wildcards={"dataset": dataset},
    )


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("summary")
    out = {}
    for name, k in (("four", 4), ("two", 2)):
        d = root / name
        inputs = _write_dataset(d, patients=k)
        line = summary.run(_io(d, inputs, name))
        out[name] = (d, line)
    return root, out


def test_summary_stage_with_four_patients(two):
    _, out = two
    d, line = out["four"]
    assert line == "findings: 1 flagged of 2 pre-specified tests; 4 patients"
    html = (d / "summary.html").read_text()
    md = (d / "summary.md").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Findings: four" in html
    assert "data:image/png;base64," in html and "https://" not in html
    assert '<a href="flags.tsv">flags.tsv</a>' in html and "[patients.tsv](patients.tsv)" in md
    assert [p.name for p in (d / "report" / "patients").iterdir()] == ["patients_heatmap.png"]
    pt = pd.read_csv(d / "patients.tsv", sep="\t")
    assert len(pt) == 4 * 2 * 2  # patients x lineages x sets; unassigned left out
    # one z by hand: T_NK x treg over the four patients (12 cells each)
    scores = pd.read_parquet(d / "scores.parquet")
    ann = pd.read_csv(d / "annotation.tsv", sep="\t", index_col=0)
    m = [
        scores.loc[ann.index[(ann["compartment"] == "T_NK")][i * 12 : (i + 1) * 12], "treg"].mean()
        for i in range(4)
    ]
    z = (np.array(m) - np.mean(m)) / np.std(m, ddof=1)
    got = pt[(pt["compartment"] == "T_NK") & (pt["set"] == "treg")].sort_values("patient")
    assert np.allclose(got["mean"], m, rtol=1e-5) and np.allclose(got["z"], z, rtol=1e-4)
    assert (got["n_cells"] == 12).all()
    # card gene absent from the matrix (CD274 is there, PDCD1LG2 is not)
    assert "PD-L1 (CD274) with PD-L2: PDCD1LG2" in md


def test_summary_stage_with_two_patients_has_no_heatmap(two):
    _, out = two
    d, line = out["two"]
    assert line.endswith("; 2 patients")
    assert list((d / "report" / "patients").iterdir()) == []
    md = (d / "summary.md").read_text()
    assert "Only 2 patient(s): a z-score against the cohort is not informative" in md
    assert "![" not in md
    assert pd.read_csv(d / "patients.tsv", sep="\t")["z"].isna().all()


def test_cross_dataset_stage(two, tmp_path):
    root, _ = two
    datasets = ["four", "two"]
    io = StageIO(
        input={
            "flags": [str(root / ds / "flags.tsv") for ds in datasets],
            "conditions": [str(root / ds / "conditions.tsv") for ds in datasets],
            "coverage": [str(root / ds / "coverage.tsv") for ds in datasets],
            "summaries": [str(root / ds / "summary.html") for ds in datasets],
            "sets": SETS,
        },
        output={
            "table": str(tmp_path / "flags_by_dataset.tsv"),
            "heatmap": str(tmp_path / "heatmap_sets_by_dataset.png"),
            "html": str(tmp_path / "summary.html"),
        },
        params={"datasets": datasets, "flag": FLAG},
    )
    assert cross_dataset.run(io) == "2 datasets side by side: 1 flagged pair(s)"
    t = pd.read_csv(tmp_path / "flags_by_dataset.tsv", sep="\t")
    assert len(t) == 2 * len(FLAGS) and list(t["dataset"][:2]) == datasets
    assert (tmp_path / "heatmap_sets_by_dataset.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "summary.html").read_text()
    assert '<a href="../four/summary.html">' in html and '<a href="../two/summary.html">' in html
