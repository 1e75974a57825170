import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = (
    "mean_diff_speedup_vs_scanpy",
    "mean_diff_max_abs_diff_vs_scanpy",
    "mean_diff_vs_sparse_product_floor",
    "rank_speedup_vs_decoupler_aucell",
    "backed_5000_cells_peak_memory",
)


def test_bench_scoring_quick_runs(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_scoring.py"),
            "--quick",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    target_lines = [ln for ln in lines if ln.startswith("target ")]
    for name in TARGETS:
        assert any(ln.startswith(f"target {name}:") for ln in target_lines), proc.stdout
    for ln in target_lines:
        assert ln.endswith(("PASS", "FAIL")) or "SKIPPED" in ln
    # agreement with scanpy is a correctness target: it must pass even in quick mode
    agree = next(ln for ln in target_lines if "max_abs_diff_vs_scanpy" in ln)
    assert agree.endswith("PASS"), agree
    assert any(ln.startswith("method") for ln in lines)
