"""Scatter-gather and many datasets, through snakemake.

- Scoring forced to scatter (``scatter.min_cells`` below the test data's cells) on a copy of
  the shared small run (tests/conftest.py ``mini_run``): the blocks' jobs are joined into the
  very files of the plain run, byte for byte.
- Two datasets: the DAG splits into one independent branch per dataset; only rule all, the
  signature library and the cross-dataset summary touch both.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import DEMO
from scipy.sparse.csgraph import connected_components
from test_workflow import _snakemake
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

PATHS = WorkflowPaths(datasets=("mini",))
#: Rules that are not of one dataset: the target, the library, the datasets side by side.
SHARED_RULES = {"all", "signatures", "cross_dataset"}


def _file(workdir: Path, name: str, **wildcards) -> Path:
    return workdir / getattr(PATHS, name).format(dataset="mini", **wildcards)


@pytest.fixture(scope="module")
def scattered(mini_run, tmp_path_factory):
    """The shared run's files, rescored with scoring split into blocks of 250 cells."""
    plain = mini_run[0]
    work = tmp_path_factory.mktemp("scatter")
    for name in ("config.yaml", "qian_model.pkl"):
        shutil.copy2(plain / name, work / name)
    shutil.copytree(plain / "results", work / "results")  # copy2: modification times kept
    for name in ("scores", "coverage", "score_plan"):
        _file(work, name).unlink()
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["scatter"] = {"min_cells": 100, "chunk_cells": 250}
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    targets = [str(_file(work, n).relative_to(work)) for n in ("scores", "coverage")]
    res = _snakemake(work, *targets, "--cores", "2", "--rerun-triggers", "mtime")
    assert res.returncode == 0, res.stderr[-4000:]
    return plain, work, res.stdout + res.stderr


def test_scattered_scores_equal_the_plain_run(scattered):
    plain, work, _ = scattered
    n_cells = pd.read_parquet(_file(plain, "scores")).shape[0]
    plan = pd.read_csv(_file(work, "score_plan"), sep="\t")
    n_blocks = -(-n_cells // 250)
    assert n_cells > 250 and len(plan) == n_blocks >= 2
    assert plan["start"].tolist() == list(range(0, n_cells, 250))
    # one job per block, then the join (each job's log); nothing upstream of scoring ran again
    ran = [p.name.removesuffix(".log") for p in (work / "logs" / "mini").glob("*.log")]
    blocks = [f"score_chunk_{c}" for c in range(n_blocks)]
    assert sorted(ran) == sorted(["score_plan", "score_stats", *blocks, "score"])
    for name in ("scores", "coverage"):
        assert _file(work, name).read_bytes() == _file(plain, name).read_bytes(), name
    # the blocks and the gene statistics are temporary: gone once joined
    assert not _file(work, "score_stats").exists()
    assert not any(_file(work, "score_chunk", chunk=c).exists() for c in plan["chunk"])


@pytest.fixture(scope="module")
def qc_scattered(mini_run, tmp_path_factory):
    """The shared run's data ingested and QC'd again, doublets screened in jobs of <= 250
    cells (ingested.h5ad is temporary: the shared run no longer has it)."""
    plain = mini_run[0]
    work = tmp_path_factory.mktemp("qc_scatter")
    for name in ("config.yaml", "qian_model.pkl"):
        shutil.copy2(plain / name, work / name)
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["scatter"] = {"min_cells": 100, "chunk_cells": 250}
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    targets = [str(_file(work, n).relative_to(work)) for n in ("qc_metrics", "qc_summary")]
    res = _snakemake(work, *targets, "--cores", "2", "--rerun-triggers", "mtime")
    assert res.returncode == 0, res.stderr[-4000:]
    return plain, work


def test_scattered_qc_equals_the_plain_run(qc_scattered):
    plain, work = qc_scattered
    plan = pd.read_csv(_file(work, "qc_plan"), sep="\t", dtype={"sample": str})
    # hand count: 4 samples of 125 cells (all >= qc.min_cells_doublets 100, below
    # doublet_max_cells: one part each), packed in order into jobs of <= 250 cells
    assert plan["sample"].tolist() == ["11", "12", "13", "14"]
    assert plan["n_cells"].tolist() == [125] * 4
    assert plan["job"].tolist() == [0, 0, 1, 1]
    ran = sorted(p.name.removesuffix(".log") for p in (work / "logs" / "mini").glob("*.log"))
    assert ran == sorted(
        ["ingest", "qc_plan", "qc", *(f"qc_doublets_{j}" for j in plan["job"].unique())]
    )
    for name in ("qc_metrics", "qc_summary"):
        assert _file(work, name).read_bytes() == _file(plain, name).read_bytes(), name
    assert not any(_file(work, "qc_doublets", job=j).exists() for j in plan["job"])  # temp()
    # the shared run (fewer cells than scatter.min_cells) screened doublets in the QC job
    assert pd.read_csv(_file(plain, "qc_plan"), sep="\t").empty


def test_plain_run_scored_in_one_job(mini_run):
    plain = mini_run[0]
    plan = pd.read_csv(_file(plain, "score_plan"), sep="\t")
    assert plan.to_dict("list") == {"chunk": [0], "start": [0], "stop": [plan["stop"][0]]}
    assert not _file(plain, "score_stats").exists()


def test_two_datasets_are_independent_branches(tmp_path):
    # one file read two ways (b also reads the authors' labels): two datasets, two branches
    sheet = pd.DataFrame(
        {"dataset": ["a", "b"], "path": [str(DEMO)] * 2, "sample_col": "sample"}
        | {"label_col": ["", "cell_type"]}
    )
    sheet.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"samples": "samples.tsv"}))
    res = _snakemake(tmp_path, "--dag")
    assert res.returncode == 0, res.stderr[-3000:]
    nodes = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)', res.stdout, flags=re.M))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", res.stdout, flags=re.M)
    own = sorted(n for n, rule in nodes.items() if rule not in SHARED_RULES)
    pos = {n: i for i, n in enumerate(own)}
    pairs = np.array([(pos[a], pos[b]) for a, b in edges if a in pos and b in pos]).T
    adjacency = sp.coo_matrix((np.ones(pairs.shape[1]), pairs), shape=(len(own), len(own)))
    n_branches, branch = connected_components(adjacency, directed=False)
    rules = [sorted(nodes[n] for n in own if branch[pos[n]] == k) for k in range(n_branches)]
    # one branch per dataset, the same rules in each (scoring up to its checkpoint)
    assert n_branches == 2 and rules[0] == rules[1]
    assert {"ingest", "qc", "cluster", "score_plan", "score", "flag", "summary"} <= set(rules[0])
    # the cross-dataset summary reads both branches
    cross = next(n for n, r in nodes.items() if r == "cross_dataset")
    assert {branch[pos[a]] for a, b in edges if b == cross and a in pos} == {0, 1}
