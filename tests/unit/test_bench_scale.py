"""benchmarks/bench_scale.py helpers on a small fake run directory (no pipeline run)."""

import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import _scale_data as data_mod  # noqa: E402
import _scale_pipeline as pipe  # noqa: E402
import _scale_report as rep  # noqa: E402

#: Snakemake's job banners as printed without --quiet rules (Snakemake 9).
LOG = """\
Building DAG of jobs...
[Mon Nov 30 08:45:01 2026]
rule qc:
    input: results/sim/ingested.h5ad
    output: results/sim/qc.h5ad, results/sim/qc_metrics.tsv
    log: logs/sim/qc.log
    jobid: 3
    benchmark: logs/sim/qc.benchmark.tsv
    reason: Missing output files: results/sim/qc.h5ad
    wildcards: dataset=sim
    resources: tmpdir=/tmp, mem_mb=8000, mem_mib=7630, runtime=30
Finished jobid: 3 (Rule: qc)
[Mon Nov 30 08:45:09 2026]
rule cluster:
    input: results/sim/qc.h5ad, results/sim/ingested.h5ad, results/sim/qc_metrics.tsv
    output: results/sim/clustered.h5ad
    jobid: 4
    wildcards: dataset=sim
    threads: 2
    resources: tmpdir=/tmp, mem_mb=3000, mem_mib=2862
localrule states:
    input: results/sim/annotation_lineages.tsv
    output: results/sim/annotation.tsv
    jobid: 7
    resources: tmpdir=/tmp
"""


def _bench_table(path: Path, rows: list[dict]) -> None:
    cols = ["s", "h:m:s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out"]
    df = pd.DataFrame([{c: r.get(c, 0) for c in cols} for r in rows], columns=cols)
    df.to_csv(path, sep="\t", index=False)


def _h5ad(path: Path, n_obs: int, n_vars: int, density: float, seed: int) -> int:
    x = sp.random(n_obs, n_vars, density=density, format="csr", random_state=seed)
    ad.AnnData(X=x.astype(np.float32)).write_h5ad(path)
    return x.nnz


def test_parse_jobs_reads_inputs_threads_and_requests():
    jobs = pipe.parse_jobs(LOG)
    assert set(jobs) == {"qc", "cluster", "states"}
    assert jobs["qc"]["resources"]["mem_mb"] == 8000 and jobs["qc"]["resources"]["runtime"] == 30
    assert jobs["qc"]["threads"] == 1 and jobs["cluster"]["threads"] == 2
    assert jobs["cluster"]["input"][1] == "results/sim/ingested.h5ad"
    assert jobs["states"]["resources"] == {"tmpdir": "/tmp"}


def test_rows_largest_input_and_ratios(tmp_path):
    res = tmp_path / "results" / "sim"
    res.mkdir(parents=True)
    nnz_small = _h5ad(res / "qc.h5ad", 50, 40, 0.05, 0)
    nnz_big = _h5ad(res / "ingested.h5ad", 60, 40, 0.3, 1)
    assert nnz_big > nnz_small
    bench = tmp_path / "logs" / "sim"
    bench.mkdir(parents=True)
    # a rerun appends a row: the last one counts
    _bench_table(
        bench / "qc.benchmark.tsv", [{"s": 99.0, "max_rss": 1.0}, {"s": 12.5, "max_rss": 4000.0}]
    )
    _bench_table(bench / "cluster.benchmark.tsv", [{"s": 3.0, "max_rss": 2500.0}])
    _bench_table(bench / "states.benchmark.tsv", [{"s": 0.2, "max_rss": "NA"}])
    table = pipe.read_benchmarks(bench)
    assert table.loc["qc", "s"] == 12.5 and np.isnan(table.loc["states", "max_rss"])
    jobs = pipe.parse_jobs(LOG)
    inputs = {r: pipe.largest_input(j["input"], {}, tmp_path) for r, j in jobs.items()}
    assert inputs["cluster"]["matrix"] == "results/sim/ingested.h5ad"
    assert (inputs["cluster"]["n_obs"], inputs["cluster"]["nnz"]) == (60, nnz_big)
    assert inputs["qc"]["nnz"] == nnz_big and inputs["states"] is None
    rows = {r["rule"]: r for r in rep.rule_rows(10_000, table, jobs, inputs)}
    assert rows["qc"]["mem_request_ratio"] == pytest.approx(8000 / 4000)
    assert rows["cluster"]["mem_request_ratio"] == pytest.approx(3000 / 2500)
    assert rows["states"]["mem_request_ratio"] is None and rows["states"]["n_obs"] is None
    assert rows["qc"]["runtime_request"] == 30 and rows["cluster"]["threads"] == 2
    assert pipe.h5ad_bytes(tmp_path / "results") == sum(
        p.stat().st_size for p in res.glob("*.h5ad")
    )


def test_matrix_header_of_dense_and_half_written(tmp_path):
    ad.AnnData(X=np.ones((7, 3), dtype=np.float32)).write_h5ad(tmp_path / "d.h5ad")
    assert data_mod.matrix_header(tmp_path / "d.h5ad") == {"n_obs": 7, "n_vars": 3, "nnz": 21}
    (tmp_path / "broken.h5ad").write_bytes(b"\x89HDF\r\n\x1a\n half")
    assert data_mod.matrix_header(tmp_path / "broken.h5ad") is None


def test_agreement_and_rare_recall_hand_counted():
    idx = [f"c{i}" for i in range(1000)]
    lineage = np.array(["T_NK"] * 600 + ["myeloid"] * 392 + ["mast"] * 8)
    state = np.array(["CD8_T"] * 300 + ["CD4_T"] * 300 + ["macrophage"] * 392 + ["mast"] * 8)
    full = pd.DataFrame({"compartment": lineage, "state": state}, index=idx)
    sk = full.copy()
    sk.iloc[:30, 0] = "myeloid"  # 30 lineage changes
    sk.iloc[300:360, 1] = "CD8_T"  # 60 state changes
    sk.iloc[992:994, 0] = "unassigned"  # 2 of 8 mast lose their lineage
    out = rep.agreement(full, sk.iloc[::-1])  # order does not matter
    assert out["n_cells"] == 1000
    assert out["lineage"] == pytest.approx(1 - 32 / 1000)
    assert out["state"] == pytest.approx(1 - 60 / 1000)
    assert out["rare"] == {
        "lineage:mast": {"n": 8, "recall": 0.75},
        "state:mast": {"n": 8, "recall": 1.0},
    }


def test_truth_recall_counts_expected_labels():
    truth = pd.Series(["mast"] * 4 + ["plasma"] * 2 + ["B"] * 4, index=list("abcdefghij"))
    calls = pd.DataFrame(
        {
            "compartment": ["mast", "mast", "mast", "myeloid", *["B_plasma"] * 6],
            "state": ["mast"] * 4 + ["plasma_cell", "B_cell"] + ["B_cell"] * 4,
        },
        index=list("abcdefghij"),
    )
    out = rep.truth_recall(
        truth, calls, {"mast": ("compartment", "mast"), "plasma": ("state", "plasma_cell")}
    )
    assert out["mast"]["recall"] == 0.75 and out["plasma"]["recall"] == 0.5


def _fig(wall, peak_mb, ratio_ok=True, rc=0):
    rules = [
        {"rule": "qc", "max_rss": peak_mb, "mem_request_ratio": 1.5},
        {"rule": "flag", "max_rss": 100.0, "mem_request_ratio": 1.2 if ratio_ok else 30.0},
    ]
    pipe_fig = {"returncode": rc, "wall_s": wall, "end_h5ad_bytes": 150, "peak_h5ad_bytes": 400}
    return {"pipeline": pipe_fig, "rules": rules, "input_bytes": 100}


def test_target_lines_pass_fail_and_skipped():
    f100 = _fig(600.0, 5_000.0)
    f100["notebook"] = {"wall_s": 500.0, "peak_mb": 9000.0}
    f100["sketch"] = {
        "lineage": 0.97,
        "state": 0.85,
        "rare": {"lineage:mast": {"n": 9, "recall": 1.0}},
    }
    f100["truth_recall_full"] = {
        "mast": {"n": 500, "label": "compartment=mast", "recall": 0.5},
        "plasma": {"n": 0, "label": "state=plasma_cell", "recall": None},
    }
    lines = rep.targets({100_000: f100, 1_000_000: _fig(6000.0, 21_000.0, ratio_ok=False)})
    by = {ln.split(":")[0].removeprefix("target "): ln for ln in lines}
    assert all(ln.startswith("target ") for ln in lines)
    assert by["wall_100k_vs_notebook"] == "target wall_100k_vs_notebook: 1.20x (goal <= 1.0x) FAIL"
    assert by["peak_100k"].endswith("5.00 GB (goal <= 6 GB) PASS")
    assert by["peak_1m"].endswith("21.00 GB (goal <= 20 GB) FAIL")
    assert by["growth_100k_to_1m"].endswith("10.00 (goal <= 11) PASS")
    assert by["intermediates_end_100000"].endswith("1.50x input (goal <= 1.5x) PASS")
    assert by["intermediates_peak_100000"].endswith("FAIL")
    assert by["sketch_lineage_agreement_100k"].endswith("PASS")
    assert by["sketch_state_agreement_100k"].endswith("FAIL")
    assert by["sketch_rare_recall_100k[lineage"].endswith("PASS")
    assert by["mem_requests_within_1x_2x_peak_100k"].endswith("PASS")
    assert by["rare_truth_recall_full_100000[mast]"].endswith(
        "0.500 of 500 (compartment=mast) (goal >= 0.9) FAIL"
    )
    assert "SKIPPED" in by["rare_truth_recall_full_100000[plasma]"]
    only_10k = rep.targets({10_000: _fig(60.0, 900.0)})
    skipped = [ln for ln in only_10k if ln.endswith("SKIPPED") or " SKIPPED - " in ln]
    assert len(skipped) == len(only_10k) - 2  # only the 10k disk targets are measured
    assert not any(ln.endswith("PASS") and "100k" in ln for ln in only_10k)


def test_thinned_design_plants_rare_types():
    sim = data_mod.thinned_design(5_000, n_genes=2_000, n_patients=16, seed=0)
    kinds = sim.obs["cell_type"].astype(str).value_counts()
    assert sim.n_obs == 5_000 and len(sim.state) == len(sim.level) == 5_000
    for name, share in data_mod.RARE.items():
        assert kinds[name] == round(share * 5_000) and kinds[name] / 5_000 < 0.01
    assert sim.obs["patient"].nunique() == 16 and set(sim.obs["response"]) == {"R", "NR"}
    assert sim.counts(0, 10).shape == (10, 2_000)


def test_an_earlier_runs_size_joins_the_targets(tmp_path, capsys):
    import json

    import bench_scale

    earlier = tmp_path / "scale_figures.json"
    blob = {"sizes": {"1000000": _fig(6000.0, 12_000.0), "100000": _fig(9.0, 9.0)}}
    earlier.write_text(json.dumps(blob))
    here = {100_000: _fig(600.0, 5_000.0)}
    merged = bench_scale.with_earlier(here, earlier)
    assert merged[100_000] is here[100_000]  # this run's own size is kept
    assert merged[1_000_000]["pipeline"]["wall_s"] == 6000.0
    assert "1,000,000 cells: figures from an earlier run" in capsys.readouterr().out
    by = {ln.split(":")[0].removeprefix("target "): ln for ln in rep.targets(merged)}
    assert by["growth_100k_to_1m"].endswith("10.00 (goal <= 11) PASS")  # 6000 / 600
    assert bench_scale.with_earlier(here, None) is here
