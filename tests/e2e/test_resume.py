"""Resume and determinism: a run killed with SIGKILL during clustering, resumed with
``--rerun-incomplete``, ends with the same files as an uninterrupted run of the same data:
every file under ``results/`` byte for byte, the ``.h5ad`` intermediates (written with gzip,
see :mod:`tmesig.io.write`) and the figures included.

The uninterrupted run is the shared small run (tests/conftest.py ``mini_run``): the killed run
uses its data file, sheet, config and CellTypist model, and asks for the targets below; every
file it leaves under ``results/`` must equal the shared run's file of the same name.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

PATHS = WorkflowPaths(datasets=("mini",))
TARGETS = [
    *(p.format(dataset="mini") for p in (PATHS.flags, PATHS.compartments, PATHS.coverage)),
    PATHS.library_table,
]


def _mini(workdir: Path, name: str) -> Path:
    return workdir / getattr(PATHS, name).format(dataset="mini")


def _cmd(workdir: Path, *args: str) -> list[str]:
    """As the shared run's command (tests/e2e/test_workflow.py ``_snakemake``)."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--workflow-profile",
        str(REPO / "workflow" / "profiles" / "default"),
        "--cores",
        "2",
        *args,
    ]


def _env(workdir: Path) -> dict:
    """As the shared run's: a fresh HOME, no CELLTYPIST_FOLDER."""
    (workdir / "home").mkdir(exist_ok=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "HOME": str(workdir / "home")}
    env.pop("CELLTYPIST_FOLDER", None)
    return env


def _tables(tmp: Path) -> dict[str, Path]:
    """Every file under ``results/`` (tables, h5ad, figures), by relative path."""
    res = tmp / "results"
    return {str(p.relative_to(res)): p for p in sorted(res.rglob("*")) if p.is_file()}


def _kill_during_clustering(killed: Path) -> dict:
    """Start the run, SIGKILL it inside the cluster job; what it left behind."""
    log = open(killed / "first_run.log", "w")
    proc = subprocess.Popen(
        _cmd(killed, *TARGETS),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(killed),
        start_new_session=True,
    )
    marker = killed / PATHS.log("cluster").format(dataset="mini")
    deadline = time.time() + 600
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before clustering started"
    time.sleep(1.0)  # inside the cluster job (it writes its log first)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log.close()
    incomplete = killed / ".snakemake" / "incomplete"
    return {
        "clustered_exists": _mini(killed, "clustered").exists(),
        "scores_exists": _mini(killed, "scores").exists(),
        "incomplete": [p.name for p in incomplete.rglob("*") if p.is_file()]
        if incomplete.exists()
        else [],
    }


@pytest.fixture(scope="module")
def runs(mini_run, tmp_path_factory):
    plain = mini_run[0]
    killed = tmp_path_factory.mktemp("killed")
    # the same config (its sheet, and the sheet's data file, are the shared run's)
    for name in ("config.yaml", "qian_model.pkl"):
        shutil.copy(plain / name, killed / name)
    state = _kill_during_clustering(killed)
    # SIGKILL leaves Snakemake's lock behind: unlock (as a user would), then resume
    unlock = subprocess.run(
        _cmd(killed, "--unlock"), capture_output=True, text=True, env=_env(killed), timeout=300
    )
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    res2 = subprocess.run(
        _cmd(killed, "--rerun-incomplete", *TARGETS),
        capture_output=True,
        text=True,
        env=_env(killed),
        timeout=1800,
    )
    assert res2.returncode == 0, res2.stderr[-4000:]
    return plain, killed, state


def test_kill_left_an_unfinished_run(runs):
    _, _, state = runs
    assert not state["scores_exists"]  # killed before scoring finished
    assert state["incomplete"] or not state["clustered_exists"]


def test_resumed_run_equals_uninterrupted_run(runs):
    plain, killed, _ = runs
    a, b = _tables(plain), _tables(killed)
    # the shared run made every file (it asked for all targets); the resumed one left nothing
    # else behind (no partial file of the killed job), and everything its targets need
    assert set(b) <= set(a), sorted(set(b) - set(a))
    assert {
        "mini/flags.tsv",
        "mini/compartments.tsv",
        "mini/coverage.tsv",
        "mini/scores.parquet",
        "mini/qc_metrics.tsv",
        "mini/clustered.h5ad",
        "mini/annotation.tsv",
        "mini/annotation_subsets.tsv",
        "signatures/library.tsv",
    } <= set(b)
    # temp(): removed once qc and cluster have read it
    assert "mini/ingested.h5ad" not in a and "mini/ingested.h5ad" not in b
    differ = []
    for name in sorted(b):
        if a[name].suffix == ".parquet":
            pd.testing.assert_frame_equal(
                pd.read_parquet(a[name]), pd.read_parquet(b[name]), check_exact=True
            )
        if (
            hashlib.sha256(a[name].read_bytes()).digest()
            != hashlib.sha256(b[name].read_bytes()).digest()
        ):
            differ.append(name)
    assert not differ, f"not byte-identical across runs: {differ}"


def test_ingest_summary_records_the_decision(runs):
    plain, _, _ = runs
    s = json.loads(_mini(plain, "ingest_summary").read_text())
    assert s["matrix"]["state"] == "counts" and s["matrix"]["source"] == "X"
    # the shared run's data: 125 demo cells from each of its 4 samples
    assert s["format"] == "h5ad" and s["cells"] == 500 and s["samples"] == 4
    assert s["signature_genes_found"] > 100


def test_clustering_identical(runs):
    plain, killed, _ = runs
    x = ad.read_h5ad(_mini(plain, "clustered"))
    y = ad.read_h5ad(_mini(killed, "clustered"))
    assert list(x.obs["leiden"]) == list(y.obs["leiden"])
    np.testing.assert_array_equal(x.obsm["X_pca"], y.obsm["X_pca"])
