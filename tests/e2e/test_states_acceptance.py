"""Acceptance at the level of cell states: a T-cell cohort before ICB, responders vs
non-responders, given as log-normalised values only (issue 11's real-data check, simulated).

The cohort (:mod:`tmesig.simulate`): 12 patients, one pre-treatment sample each, tumour T/NK
cells only; non-responders carry more exhausted CD8 T cells (exhausted share of CD8 0.2 vs
0.45, :data:`tmesig.simulate.CD8_EXHAUSTED_SHIFT`) and an exhaustion programme (×2 in 70% of
their CD8 T cells). Counts are dropped: the pipeline sees log1p(CP10k) values only and runs in
``input_mode: normalised``. Expected, from the planted truth and with tmesig's own state
calls: the exhausted share of CD8 T cells is higher in non-responders at patient level
(p < 0.05); the exhaustion set, scored within the CD8 states, is higher in non-responders
(p < 0.05); no patient is lost to QC.
"""

import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from tmesig import simulate as sim

pytestmark = pytest.mark.slow

N_PATIENTS = 12


def _cohort(path):
    programme = sim.Program(
        "exhaustion_cd8_nr",
        sim.library_genes("tcell_exhaustion"),
        ("CD8_T",),
        2.0,
        response="NR",
        fraction=0.7,
    )
    a = sim.simulate(
        20_000,
        n_genes=3_000,
        n_patients=N_PATIENTS,
        programs=(programme, sim.CD8_EXHAUSTED_SHIFT),
        seed=5,
        lognorm=True,
    )
    keep = (a.obs["compartment"] == "T_NK") & (a.obs["timepoint"] == "pre")
    t = a[keep.to_numpy()].copy()
    del t.layers["counts"]
    t.uns = {}
    truth = t.obs[["patient", "response", "cell_type"]].copy()
    t.obs = t.obs[["sample", "patient", "response"]].copy()
    t.write_h5ad(path)
    return truth


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("states_acceptance")
    truth = _cohort(tmp / "tcells.h5ad")
    sheet = {"dataset": ["tcells"], "path": [str(tmp / "tcells.h5ad")], "sha256": [""]}
    sheet |= {"sample_col": ["sample"], "patient_col": ["patient"]}
    sheet |= {"condition_col": ["response"], "label_col": [""]}
    pd.DataFrame(sheet).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "ingest": {"input_mode": "normalised"},
        "conditions": {"reference": "R", "test": "NR"},
        "flag": {"n_null": 200, "n_null_max": 2000},
        "enrichment": {"permutation_num": 100},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2"]
    cmd += ["--directory", str(tmp), "--configfile", str(tmp / "config.yaml")]
    cmd += ["--workflow-profile", str(REPO / "workflow" / "profiles" / "default")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return tmp / "results" / "tcells", truth


def test_no_patient_is_lost_to_qc(run):
    out, truth = run
    clustered = ad.read_h5ad(out / "clustered.h5ad", backed="r")
    kept = clustered.obs["patient"].astype(str).value_counts()
    assert set(kept.index) == set(truth["patient"].astype(str))
    assert (kept / truth["patient"].astype(str).value_counts()).min() >= 0.9


def test_exhausted_share_of_cd8_higher_in_non_responders(run):
    out, truth = run
    comp = pd.read_csv(out / "composition.tsv", sep="\t")
    row = comp[
        (comp["level"] == "state")
        & (comp["denominator"] == "CD8_T")
        & (comp["compartment"] == "CD8_exhausted")
    ]
    assert len(row) == 1, comp[["level", "denominator", "compartment"]]
    row = row.iloc[0]
    assert row["n_ref"] + row["n_test"] == N_PATIENTS and row["p"] < 0.05
    assert row["fraction_test"] > row["fraction_ref"]
    # tmesig's shares follow the planted ones (truth: patient means of the true labels)
    cd8 = truth[truth["cell_type"].isin(["CD8_effector_memory", "CD8_exhausted"])]
    share = cd8.groupby(["response", "patient"], observed=True)["cell_type"].apply(
        lambda c: (c == "CD8_exhausted").mean()
    )
    assert abs(row["fraction_test"] - share["NR"].mean()) < 0.15
    assert abs(row["fraction_ref"] - share["R"].mean()) < 0.15


def test_exhaustion_within_cd8_states_higher_in_non_responders(run):
    out, _ = run
    cond = pd.read_csv(out / "conditions.tsv", sep="\t")
    rows = cond[
        (cond["level"] == "state")
        & cond["compartment"].isin(["CD8_exhausted", "CD8_effector_memory", "CD8_T"])
        & (cond["set"] == "tcell_exhaustion")
    ]
    assert len(rows) >= 1
    best = rows.sort_values("p").iloc[0]
    assert best["p"] < 0.05 and best["effect"] > 0 and best["design"] == "unpaired"
    assert np.isfinite(rows["p"]).all()
