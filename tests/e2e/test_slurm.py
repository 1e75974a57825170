"""End-to-end on a real SLURM cluster: the default pipeline through the SLURM executor plugin.

A single-node cluster (Debian's munge, slurmctld and slurmd; ``slurm_cluster.py``) is started
for this module and stopped after it. The dataset of the shared local run (``--cores 2``,
tests/conftest.py ``mini_run``) is run again through ``workflow/profiles/slurm`` with
``--slurm-no-account --slurm-status-command squeue``; every table must be identical and the
cluster must have run the non-local rules as jobs. ``.ci/run`` installs the packages and sets
``TMESIG_REQUIRE_SLURM=1``, so there the test fails instead of skipping when the cluster
cannot start.

Most of a SLURM run's time is waiting (submission, job start, status checks), so when this
module is part of the session the SLURM run starts in the background as soon as the shared
run's inputs exist (tests/conftest.py ``mini_run`` calls :func:`start_in_background`) and runs
beside the local run and the tests after it; :func:`runs` waits for it.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from slurm_cluster import missing_programs, single_node_cluster

pytestmark = pytest.mark.slow

_REQUIRED = os.environ.get("TMESIG_REQUIRE_SLURM") == "1"
#: Rules that run where snakemake runs (the Snakefile's ``localrules``).
_LOCAL = {
    "all",
    "download",
    "signatures",
    "forest",
    "composition",
    "states",
    "conditions",
    "tables",
    "score_plan",
    "qc_plan",
    "summary",
    "cross_dataset",
}


#: The background SLURM run (``start_in_background``), when one was started.
_BACKGROUND: dict[str, object] = {}


def _snakemake(workdir: Path, *args: str, env: dict) -> None:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    cmd += ["--workflow-profile", str(REPO / "workflow" / "profiles" / "slurm"), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=2400)
    assert res.returncode == 0, f"SLURM run failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"


def _unavailable() -> str | None:
    """Why the test cluster cannot start here (``None``: it can)."""
    missing = missing_programs()
    if os.geteuid() != 0 or missing:
        need = ", ".join(missing) or "root"
        return f"needs root and {need} (apt-get install munge slurmctld slurmd slurm-client)"
    return None


def _slurm_run(local: Path, remote: Path) -> str:
    """The local run's dataset, sheet, config and CellTypist model run through the SLURM
    profile in ``remote``; returns ``scontrol show jobs -o``."""
    for name in ("config.yaml", "samples.tsv", "qian_model.pkl"):
        shutil.copy(local / name, remote / name)
    with single_node_cluster() as slurm_env:
        _snakemake(
            remote,
            "--jobs",
            "2",
            "--slurm-no-account",
            "--slurm-status-command",
            "squeue",
            "--slurm-init-seconds-before-status-checks",
            "1",
            "--seconds-between-status-checks",
            "2",
            "--default-resources",
            "slurm_partition=test",
            env={**slurm_env, "MPLBACKEND": "Agg"},
        )
        return subprocess.run(
            ["scontrol", "show", "jobs", "-o"], env=slurm_env, capture_output=True, text=True
        ).stdout


def start_in_background(local: Path, remote: Path) -> None:
    """Start :func:`_slurm_run` in a thread (the cluster can start: else nothing, and
    :func:`runs` skips or fails as usual). Called once the local run's inputs exist."""
    if _unavailable() is not None or _BACKGROUND:
        return

    def work():  # writes into _BACKGROUND itself: the thread outlives this call
        try:
            _BACKGROUND["jobs"] = _slurm_run(local, remote)
        except BaseException as e:  # reported by runs()
            _BACKGROUND["error"] = e

    _BACKGROUND.update(remote=remote, thread=threading.Thread(target=work, daemon=True))
    _BACKGROUND["thread"].start()


def wait_for_background() -> None:
    """Wait for the background run (its cluster stops when it ends): at the session's end."""
    if "thread" in _BACKGROUND:
        _BACKGROUND["thread"].join()


@pytest.fixture(scope="module")
def runs(mini_run, tmp_path_factory):
    """The shared local run (tests/conftest.py ``mini_run``, ``--cores 2``) and the same
    dataset, sheet, config and CellTypist model run again through the SLURM profile (started
    in the background by ``mini_run``, or here)."""
    why = _unavailable()
    if why is not None:
        if _REQUIRED:
            pytest.fail(f"TMESIG_REQUIRE_SLURM=1 but the test cluster cannot start: {why}")
        pytest.skip(why)
    local = mini_run[0]
    if not _BACKGROUND:
        start_in_background(local, tmp_path_factory.mktemp("slurm"))
    _BACKGROUND["thread"].join()
    if "error" in _BACKGROUND:
        raise _BACKGROUND["error"]
    return local, _BACKGROUND["remote"], _BACKGROUND["jobs"]


def test_the_cluster_ran_the_rules_as_jobs(runs):
    _, remote, jobs = runs
    lines = [ln for ln in jobs.splitlines() if ln.startswith("JobId=")]
    states = {ln.split("JobState=")[1].split()[0] for ln in lines}
    assert states == {"COMPLETED"}, states
    # the plugin writes each job's log under slurm_logs/rule_<rule>/
    ran = [re.search(r"slurm_logs/rule_(\w+)/", ln).group(1) for ln in lines]
    benchmarked = {p.name.split(".")[0] for p in (remote / "logs").rglob("*.benchmark.tsv")}
    assert len(ran) == len(set(ran)), "one job per rule of the one dataset"
    assert set(ran) == benchmarked - _LOCAL
    assert {"ingest", "qc", "cluster", "score", "flag"} <= set(ran)
    assert not set(ran) & _LOCAL


def test_tables_equal_a_local_run(runs):
    local, remote, _ = runs
    tables = sorted(p.relative_to(local) for p in (local / "results").rglob("*.tsv"))
    assert len(tables) >= 15
    for rel in tables:
        assert (remote / rel).read_bytes() == (local / rel).read_bytes(), rel
    scores = Path("results/mini/scores.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(local / scores), pd.read_parquet(remote / scores))
