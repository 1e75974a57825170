"""End-to-end on a real SLURM cluster: the default pipeline through the SLURM executor plugin.

A single-node cluster (Debian's munge, slurmctld and slurmd; ``slurm_cluster.py``) is started
for this module and stopped after it. The same small dataset is run locally (``--cores 2``)
and through ``workflow/profiles/slurm`` with ``--slurm-no-account --slurm-status-command
squeue``; every table must be identical and the cluster must have run the non-local rules
as jobs. ``.ci/run`` installs the packages and sets ``TMESIG_REQUIRE_SLURM=1``, so there the
test fails instead of skipping when the cluster cannot start.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DEMO, REPO
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
    "summary",
    "cross_dataset",
}


def _dataset(tmp: Path) -> None:
    a = ad.read_h5ad(DEMO)
    rng = np.random.default_rng(1)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(a.obs["sample"] == s), 100, replace=False)
            for s in a.obs["sample"].cat.categories
        ]
    )
    a[np.sort(keep)].copy().write_h5ad(tmp / "tumour.h5ad")
    sheet = {"dataset": ["slurmmini"], "path": [str(tmp / "tumour.h5ad")], "sha256": [""]}
    sheet |= {"sample_col": ["sample"], "label_col": ["cell_type"]}
    pd.DataFrame(sheet).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "cluster": {"n_pcs": 20},
        "enrichment": {"permutation_num": 100},
        "flag": {"n_null": 200},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))


def _snakemake(tmp: Path, workdir: Path, profile: str, *args: str, env: dict) -> None:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(tmp / "config.yaml")]
    cmd += ["--workflow-profile", str(REPO / "workflow" / "profiles" / profile), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)
    assert res.returncode == 0, f"{profile} run failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    missing = missing_programs()
    if os.geteuid() != 0 or missing:
        need = ", ".join(missing) or "root"
        why = f"needs root and {need} (apt-get install munge slurmctld slurmd slurm-client)"
        if _REQUIRED:
            pytest.fail(f"TMESIG_REQUIRE_SLURM=1 but the test cluster cannot start: {why}")
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("slurm")
    _dataset(tmp)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    local, remote = tmp / "local", tmp / "cluster"
    with single_node_cluster() as slurm_env:
        _snakemake(tmp, local, "default", "--cores", "2", env=env)
        _snakemake(
            tmp,
            remote,
            "slurm",
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
        jobs = subprocess.run(
            ["scontrol", "show", "jobs", "-o"], env=slurm_env, capture_output=True, text=True
        ).stdout
    return local, remote, jobs


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
    scores = Path("results/slurmmini/scores.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(local / scores), pd.read_parquet(remote / scores))
