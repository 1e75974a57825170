"""Resume and determinism: a run killed with SIGKILL during clustering, resumed with
``--rerun-incomplete``, ends with the same files as an uninterrupted run of the same data:
every file under ``results/`` byte for byte, the ``.h5ad`` intermediates (written with gzip,
see :mod:`tmesig.io.write`) and the figures included."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DEMO, REPO
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
        "--cores",
        "2",
        *args,
    ]


def _env():
    return {**os.environ, "MPLBACKEND": "Agg"}


def _setup(tmp: Path, *, per_sample: int = 100, seed: int = 0) -> None:
    a = ad.read_h5ad(DEMO)
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(a.obs["sample"] == s), per_sample, replace=False)
            for s in a.obs["sample"].cat.categories
        ]
    )
    a[np.sort(keep)].copy().write_h5ad(tmp / "tumour.h5ad")
    # a relative path, so that both working directories produce the same ingest summary
    pd.DataFrame({"dataset": ["mini"], "path": ["tumour.h5ad"], "sample_col": ["sample"]}).to_csv(
        tmp / "samples.tsv", sep="\t", index=False
    )
    cfg = {
        "samples": "samples.tsv",
        "qc": {"min_cells_doublets": 50},
        "cluster": {"n_pcs": 20},
        "flag": {"n_null": 200},
        "enrichment": {"permutation_num": 100},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))


def _tables(tmp: Path) -> dict[str, Path]:
    """Every file under ``results/`` (tables, h5ad, figures), by relative path."""
    res = tmp / "results"
    return {str(p.relative_to(res)): p for p in sorted(res.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    plain = tmp_path_factory.mktemp("plain")
    killed = tmp_path_factory.mktemp("killed")
    for d in (plain, killed):
        _setup(d)
    t0 = time.time()
    res = subprocess.run(
        _cmd(plain, *TARGETS), capture_output=True, text=True, env=_env(), timeout=900
    )
    assert res.returncode == 0, res.stderr[-4000:]
    plain_seconds = time.time() - t0

    log = open(killed / "first_run.log", "w")
    proc = subprocess.Popen(
        _cmd(killed, *TARGETS),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(),
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
    state = {
        "clustered_exists": _mini(killed, "clustered").exists(),
        "scores_exists": _mini(killed, "scores").exists(),
        "incomplete": [
            p.name for p in (killed / ".snakemake" / "incomplete").rglob("*") if p.is_file()
        ]
        if (killed / ".snakemake" / "incomplete").exists()
        else [],
    }
    # SIGKILL leaves Snakemake's lock behind: unlock (as a user would), then resume
    unlock = subprocess.run(
        _cmd(killed, "--unlock"), capture_output=True, text=True, env=_env(), timeout=300
    )
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    res2 = subprocess.run(
        _cmd(killed, "--rerun-incomplete", *TARGETS),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=900,
    )
    assert res2.returncode == 0, res2.stderr[-4000:]
    return plain, killed, state, plain_seconds


def test_kill_left_an_unfinished_run(runs):
    _, _, state, _ = runs
    assert not state["scores_exists"]  # killed before scoring finished
    assert state["incomplete"] or not state["clustered_exists"]


def test_resumed_run_equals_uninterrupted_run(runs):
    plain, killed, _, _ = runs
    a, b = _tables(plain), _tables(killed)
    assert set(a) == set(b) and {
        "mini/flags.tsv",
        "mini/scores.parquet",
        "mini/qc_metrics.tsv",
        "mini/clustered.h5ad",
    } <= set(a)
    assert "mini/ingested.h5ad" not in a  # temp(): removed once qc and cluster have read it
    differ = []
    for name in sorted(a):
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
    plain, _, _, _ = runs
    s = json.loads(_mini(plain, "ingest_summary").read_text())
    assert s["matrix"]["state"] == "counts" and s["matrix"]["source"] == "X"
    assert s["format"] == "h5ad" and s["cells"] == 400 and s["samples"] == 4
    assert s["signature_genes_found"] > 100


def test_clustering_identical(runs):
    plain, killed, _, _ = runs
    x = ad.read_h5ad(_mini(plain, "clustered"))
    y = ad.read_h5ad(_mini(killed, "clustered"))
    assert list(x.obs["leiden"]) == list(y.obs["leiden"])
    np.testing.assert_array_equal(x.obsm["X_umap"], y.obsm["X_umap"])
