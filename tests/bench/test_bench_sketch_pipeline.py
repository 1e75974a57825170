"""benchmarks/bench_sketch.py --pipeline helpers on hand-made tables and run dirs (no pipeline)."""

import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "workflow"))

import bench_sketch as bs  # noqa: E402


def _labels(*pairs: tuple[str, int]) -> list[str]:
    return [label for label, n in pairs for _ in range(n)]


def test_disagreements_counts_label_moves_by_hand():
    full = pd.Series(_labels(("T_NK", 10), ("myeloid", 5), ("mast", 2)))
    sketch = pd.Series(
        _labels(("T_NK", 7), ("myeloid", 3), ("myeloid", 4), ("mast", 1), ("T_NK", 2))
    )
    # full T_NK 10: 7 stay, 3 -> myeloid; myeloid 5: 4 stay, 1 -> mast; mast 2: 0 stay, 2 -> T_NK
    moved = bs.disagreements(full, sketch)
    got = {(r.full, r.sketch): (r.cells, r.share_of_full) for r in moved.itertuples()}
    assert got == {
        ("T_NK", "myeloid"): (3, pytest.approx(0.3)),
        ("mast", "T_NK"): (2, pytest.approx(1.0)),
        ("myeloid", "mast"): (1, pytest.approx(0.2)),
    }
    assert list(moved["cells"]) == [3, 2, 1]  # largest first


def test_per_label_agreement_by_hand():
    full = pd.Series(_labels(("a", 4), ("b", 2)), index=[f"c{i}" for i in range(6)])
    sketch = pd.Series(["a", "a", "b", "a", "b", "a"], index=full.index)
    per = bs.per_label_agreement(full, sketch)
    assert per.to_dict() == {"b": 0.5, "a": 0.75}
    assert list(per.index) == ["b", "a"]  # lowest first


def test_per_label_agreement_aligns_on_cell_names():
    full = pd.Series(["a", "b"], index=["x", "y"])
    sketch = pd.Series(["b", "a"], index=["y", "x"])  # same labels, other order
    assert bs.per_label_agreement(full, sketch).to_dict() == {"a": 1.0, "b": 1.0}


def _agree(lineage: float, state: float, rare: dict) -> dict:
    return {"n_cells": 1000, "lineage": lineage, "state": state, "rare": rare}


def test_pipeline_targets_pass_fail_and_which_rare_labels_count():
    agree = _agree(
        0.96,
        0.89,
        {
            "lineage:mast": {"n": 5, "recall": 0.8},
            "state:MAIT": {"n": 3, "recall": 0.0},  # a rare state: printed, not a target
        },
    )
    truth = {
        "mast": {"n": 5, "label": "compartment=mast", "recall": 0.9},
        "plasma": {"n": 0, "label": "state=plasma_cell", "recall": None},
    }
    lines = bs.pipeline_targets(agree, truth)
    assert lines == [
        "target sketch_lineage_agreement: 0.9600 (goal >= 0.95) PASS",
        "target sketch_state_agreement: 0.8900 (goal >= 0.90) FAIL",
        "target sketch_rare_recall_vs_full[lineage:mast]: 0.8000 of 5 (goal >= 0.9) FAIL",
        "target sketch_rare_recall_vs_truth[mast]: 0.9000 of 5 (compartment=mast) "
        "(goal >= 0.9) PASS",
        "target sketch_rare_recall_vs_truth[plasma]: not measured (goal >= 0.9) SKIPPED"
        " - no such cells",
    ]


def _fake_run(root: Path, data: Path, *, method: str, lineage_sizes: dict, cfg: dict) -> Path:
    """A finished run's files as reusable_full reads them."""
    root.mkdir(parents=True)
    sheet = pd.DataFrame({"dataset": ["sim"], "path": [str(data)]})
    sheet.to_csv(root / "samples.tsv", sep="\t", index=False)
    (root / "config.yaml").write_text(yaml.safe_dump({"samples": "x", **cfg}))
    comp = _labels(*lineage_sizes.items())
    ann = bs._run_file(root, "annotation")
    ann.parent.mkdir(parents=True, exist_ok=True)
    cells = [f"c{i}" for i in range(len(comp))]
    pd.DataFrame({"compartment": comp}, index=pd.Index(cells, name="cell")).to_csv(ann, sep="\t")
    obs = pd.DataFrame({"in_sketch": np.arange(len(comp)) % 2 == 0}, index=cells)
    clustered = ad.AnnData(X=sp.csr_matrix((len(comp), 2), dtype=np.float32), obs=obs)
    clustered.uns["tmesig_cluster"] = {"sketch": {"method": method, "size": 3, "above": 1}}
    clustered.write_h5ad(bs._run_file(root, "clustered"))
    return root


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "sim.h5ad"
    path.write_bytes(b"not read")
    return path


def test_reusable_full_accepts_an_unsketched_run(tmp_path, data):
    run = _fake_run(
        tmp_path / "r", data, method="none", lineage_sizes={"T_NK": 150, "mast": 3}, cfg={}
    )
    assert bs.reusable_full(run, data) is None  # default subsets.sketch_above is 50,000
    link = tmp_path / "link.h5ad"
    link.symlink_to(data)
    assert bs.reusable_full(run, link) is None  # the same file through a link
    assert bs._cluster_sketch(run) == {"method": "none", "size": 3, "above": 1, "in_sketch": 77}


def test_reusable_full_refuses_sketched_or_foreign_runs(tmp_path, data):
    sizes = {"T_NK": 150, "mast": 3}
    sketched = _fake_run(tmp_path / "a", data, method="geosketch", lineage_sizes=sizes, cfg={})
    assert "clustering ran on a sketch (geosketch)" in bs.reusable_full(sketched, data)
    small = {"subsets": {"sketch_above": 100}}
    sub = _fake_run(tmp_path / "b", data, method="none", lineage_sizes=sizes, cfg=small)
    assert "lineage of 150 cells" in bs.reusable_full(sub, data)
    never = {"subsets": {"sketch_above": None}}
    ok = _fake_run(tmp_path / "c", data, method="none", lineage_sizes=sizes, cfg=never)
    assert bs.reusable_full(ok, data) is None
    other = tmp_path / "other.h5ad"
    other.write_bytes(b"x")
    assert "not " in bs.reusable_full(ok, other)
    assert "missing" in bs.reusable_full(tmp_path / "nothing", data)


def test_reusable_full_reads_lineages_from_the_subsets_table_when_present(tmp_path, data):
    cfg = {"subsets": {"sketch_above": 100}}
    run = _fake_run(tmp_path / "r", data, method="none", lineage_sizes={"T_NK": 90}, cfg=cfg)
    assert bs.reusable_full(run, data) is None  # 90 cells per annotation.tsv
    subsets = pd.DataFrame({"lineage": _labels(("T_NK", 60), ("myeloid", 101))})
    subsets.to_csv(bs._run_file(run, "annotation_subsets"), sep="\t")
    assert "lineage of 101 cells" in bs.reusable_full(run, data)
