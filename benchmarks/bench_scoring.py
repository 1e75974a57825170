"""Benchmark of tmesig's scoring engine against scanpy, decoupler, gseapy and the floor.

Run by hand (default: 200,000 simulated log-normalised cells × 20,000 genes, the whole
signature library, 1,000,000 cells for the backed run)::

    python benchmarks/bench_scoring.py [--quick] [--cells N] [--backed-cells N] [--workdir DIR]

Every method runs in its own child process on the same h5ad (loaded in memory, except
the backed run); the child reports its scoring wall time (loading excluded, reported
separately) and its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which
includes the loaded matrix; the ``load`` row is the matrix alone). Agreement is the
maximum |Δ| against the scanpy loop. The script ends with one line per target:
``target NAME: VALUE (goal GOAL) PASS|FAIL``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

METHODS = (
    "load",
    "floor",
    "tmesig_mean_diff",
    "scanpy_loop",
    "tmesig_rank",
    "decoupler_aucell",
    "gseapy_ssgsea",
)


def _sets_and_genes(adata):
    from tmesig import score, signatures

    lib = signatures.load_library()
    cov = score.coverage_table(adata, lib, min_coverage=0.5)
    return [gs for gs, ok in zip(lib, cov["scored"], strict=True) if ok]


def _floor(adata, sets) -> np.ndarray:
    """One sparse product X @ W with the real sets' weights (controls excluded): the cost of
    touching every non-zero once."""
    import scipy.sparse as sp

    w = np.zeros((adata.n_vars, len(sets)), dtype=np.float32)
    for k, gs in enumerate(sets):
        idx = adata.var_names.get_indexer(list(gs.genes))
        idx = idx[idx >= 0]
        w[idx, k] = 1.0 / len(idx)
    x = adata.X if sp.issparse(adata.X) else sp.csr_matrix(adata.X)
    return np.asarray(x @ w)


def _decoupler_aucell(adata, sets) -> np.ndarray:
    import decoupler as dc
    import pandas as pd

    net = pd.DataFrame(
        [(gs.name, g) for gs in sets for g in gs.genes if g in adata.var_names],
        columns=["source", "target"],
    )
    dc.mt.aucell(adata, net, tmin=1, n_up=1500, verbose=False)
    return adata.obsm["score_aucell"][[gs.name for gs in sets]].to_numpy()


def _gseapy_ssgsea(adata, sets, ssgsea_cells: int) -> int:
    """Run ssGSEA on the first ``ssgsea_cells`` cells; return how many were scored."""
    import gseapy
    import pandas as pd

    n = min(ssgsea_cells, adata.n_obs)
    sub = adata[:n].to_memory() if adata.isbacked else adata[:n]
    x = sub.X.toarray() if hasattr(sub.X, "toarray") else np.asarray(sub.X)
    frame = pd.DataFrame(x.T, index=adata.var_names, columns=sub.obs_names)
    gene_sets = {gs.name: [g for g in gs.genes if g in adata.var_names] for gs in sets}
    gseapy.ssgsea(
        data=frame,
        gene_sets=gene_sets,
        outdir=None,
        min_size=1,
        max_size=1000,
        permutation_num=0,
        threads=os.cpu_count() or 1,
        no_plot=True,
        verbose=False,
    )
    return n


def _score(method: str, adata, sets, ssgsea_cells: int, record: dict):
    """Scores of one method (None for ``load`` and ``gseapy_ssgsea``)."""
    from tmesig import score

    if method == "floor":
        return _floor(adata, sets)
    if method in ("tmesig_mean_diff", "tmesig_backed"):
        return score.score_mean_diff(adata, sets, seed=0).to_numpy()
    if method == "scanpy_loop":
        options = score.ScoreOptions(method="scanpy", seed=0)
        return score.score_cells(adata, sets, options=options)[0].to_numpy()
    if method == "tmesig_rank":
        return score.score_rank(adata, sets, max_rank=1500).to_numpy()
    if method == "decoupler_aucell":
        return _decoupler_aucell(adata, sets)
    if method == "gseapy_ssgsea":
        record["subsample"] = _gseapy_ssgsea(adata, sets, ssgsea_cells)
    return None


def _worker(method: str, data: str, out: str, ssgsea_cells: int) -> None:
    """Run one method in this (child) process and write a JSON record."""
    import anndata as ad
    from tmesig import score

    record: dict = {"method": method}
    t0 = time.perf_counter()
    backed = method == "tmesig_backed"
    adata = ad.read_h5ad(data, backed="r" if backed else None)
    record["load_s"] = time.perf_counter() - t0
    sets = _sets_and_genes(adata)
    record["n_sets"] = len(sets)
    if method.startswith("tmesig"):
        # load the numba kernels from their cache (a fixed start-up cost, not scoring)
        warm = ad.AnnData(adata.X[:20], var=adata.var[[]])
        if method != "tmesig_rank":
            score.score_mean_diff(warm, sets)
        else:
            score.score_rank(warm, sets)
    t0 = time.perf_counter()
    result = _score(method, adata, sets, ssgsea_cells, record)
    record["wall_s"] = time.perf_counter() - t0
    record["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    record["n_cells"] = int(adata.n_obs)
    if result is not None and method != "tmesig_backed":
        np.save(out + ".npy", np.asarray(result, dtype=np.float64))
    Path(out).write_text(json.dumps(record))


def _run_child(method: str, data: Path, workdir: Path, ssgsea_cells: int) -> dict:
    out = workdir / f"{method}.json"
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--data",
        str(data),
        "--out",
        str(out),
        "--ssgsea-cells",
        str(ssgsea_cells),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"method": method, "error": " | ".join(tail), "total_s": total}
    record = json.loads(out.read_text())
    record["total_s"] = total
    npy = Path(str(out) + ".npy")
    if npy.exists():
        record["scores"] = np.load(npy)
    return record


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="5,000 cells, backed run on the same file"
    )
    parser.add_argument("--cells", type=int, default=None)
    parser.add_argument(
        "--genes", type=int, default=None, help="default 20,000 (3,000 with --quick)"
    )
    parser.add_argument("--backed-cells", type=int, default=None)
    parser.add_argument("--ssgsea-cells", type=int, default=1_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=(*METHODS, "tmesig_backed"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _skip_reason(method: str, quick: bool) -> str | None:
    """Why a method is not run (decoupler in quick mode or not installed), else None."""
    if method != "decoupler_aucell":
        return None
    if quick:
        # decoupler's numba compilation alone takes ~1 min in a fresh process
        return "quick mode (decoupler JIT start-up ~1 min)"
    try:
        import decoupler  # noqa: F401
    except ImportError as exc:
        return f"decoupler not importable ({exc})"
    return None


def _run_methods(data: Path, workdir: Path, ssgsea_cells: int, quick: bool) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for method in METHODS:
        skipped = _skip_reason(method, quick)
        if skipped:
            records[method] = {"method": method, "skipped": skipped}
            continue
        rec = _run_child(method, data, workdir, ssgsea_cells)
        records[method] = rec
        print(f"# done {method}: " + (rec.get("error") or f"{rec['wall_s']:.2f} s"), flush=True)
    return records


def _backed_data(data: Path, workdir: Path, args: argparse.Namespace, n_cells: int, n_backed):
    """The file for the backed run: the same file, or a larger one simulated now."""
    from tmesig import simulate

    if n_backed == n_cells:
        return data
    t0 = time.perf_counter()
    backed_data = simulate.write_h5ad_chunked(
        workdir / f"sim_{n_backed}.h5ad",
        n_backed,
        n_genes=args.genes,
        seed=args.seed + 1,
        chunk_size=25_000,
    )
    print(
        f"# backed data simulated + written in {time.perf_counter() - t0:.1f} s "
        f"({backed_data.stat().st_size / 1e9:.1f} GB)",
        flush=True,
    )
    return backed_data


def _note_and_wall(method: str, rec: dict, records: dict, n_cells: int) -> tuple[str, float]:
    wall = rec["wall_s"]
    note = ""
    if method == "gseapy_ssgsea":
        factor = n_cells / rec["subsample"]
        note = f"measured on {rec['subsample']} cells; wall_s extrapolated x{factor:.0f}"
        wall = wall * n_cells / rec["subsample"]
        rec["wall_extrapolated"] = wall
    if method == "tmesig_backed":
        note = "backed='r', wall_s includes both passes over the file"
    scores = rec.get("scores")
    ours_rank = records.get("tmesig_rank", {}).get("scores")
    if method == "decoupler_aucell" and scores is not None and ours_rank is not None:
        r = np.mean(
            [
                np.corrcoef(scores[:, k], ours_rank[:, k])[0, 1]
                for k in range(scores.shape[1])
                if np.std(scores[:, k]) > 0 and np.std(ours_rank[:, k]) > 0
            ]
        )
        note = f"mean per-set Pearson r with tmesig_rank {r:.3f}"
    return note, wall


def _print_table(records: dict[str, dict], n_cells: int) -> None:
    ref = records.get("scanpy_loop", {}).get("scores")
    header = (
        f"{'method':<20}{'cells':>10}{'wall_s':>10}{'load_s':>8}{'peak_GB':>9}"
        f"{'vs_scanpy_x':>12}{'max|d|_scanpy':>15}  note"
    )
    print(header)
    base_wall = records.get("scanpy_loop", {}).get("wall_s")
    for method, rec in records.items():
        if "skipped" in rec or "error" in rec:
            print(
                f"{method:<20}{'-':>10}{'-':>10}{'-':>8}{'-':>9}{'-':>12}{'-':>15}  "
                f"{rec.get('skipped') or 'ERROR ' + rec['error']}"
            )
            continue
        note, wall = _note_and_wall(method, rec, records, n_cells)
        d = "-"
        scores = rec.get("scores")
        if ref is not None and scores is not None and method in ("tmesig_mean_diff", "scanpy_loop"):
            d = f"{np.max(np.abs(scores - ref)):.2e}"
        speed = f"{base_wall / wall:.1f}" if base_wall and method != "load" and wall > 0 else "-"
        print(
            f"{method:<20}{rec['n_cells']:>10,}{wall:>10.2f}{rec['load_s']:>8.1f}"
            f"{rec['peak_rss_gb']:>9.2f}{speed:>12}{d:>15}  {note}"
        )


def _targets(records: dict[str, dict]) -> list[tuple[str, str, str, bool]]:
    """(name, value, goal, met) of every target; prints the line of a skipped target."""

    def wall(m):
        rec = records.get(m, {})
        return rec.get("wall_extrapolated", rec.get("wall_s"))

    ref = records.get("scanpy_loop", {}).get("scores")
    rb = records["tmesig_backed"]
    targets = []
    if wall("scanpy_loop") and wall("tmesig_mean_diff"):
        v = wall("scanpy_loop") / wall("tmesig_mean_diff")
        targets.append(("mean_diff_speedup_vs_scanpy", f"{v:.1f}x", ">= 30x", v >= 30))
    if ref is not None and records.get("tmesig_mean_diff", {}).get("scores") is not None:
        v = float(np.max(np.abs(records["tmesig_mean_diff"]["scores"] - ref)))
        targets.append(("mean_diff_max_abs_diff_vs_scanpy", f"{v:.2e}", "<= 1e-4", v <= 1e-4))
    if wall("floor") and wall("tmesig_mean_diff"):
        v = wall("tmesig_mean_diff") / wall("floor")
        targets.append(("mean_diff_vs_sparse_product_floor", f"{v:.2f}x", "<= 3x", v <= 3))
    if "skipped" in records.get("decoupler_aucell", {}):
        reason = records["decoupler_aucell"]["skipped"]
        print(f"target rank_speedup_vs_decoupler_aucell: SKIPPED ({reason})")
    elif wall("decoupler_aucell") and wall("tmesig_rank"):
        v = wall("decoupler_aucell") / wall("tmesig_rank")
        targets.append(("rank_speedup_vs_decoupler_aucell", f"{v:.1f}x", ">= 5x", v >= 5))
    if wall("gseapy_ssgsea") and wall("tmesig_rank"):
        v = wall("gseapy_ssgsea") / wall("tmesig_rank")
        targets.append(
            ("rank_speedup_vs_gseapy_ssgsea_extrapolated", f"{v:.1f}x", "reference", True)
        )
    if "peak_rss_gb" in rb:
        v = rb["peak_rss_gb"]
        targets.append(
            (f"backed_{rb['n_cells']}_cells_peak_memory", f"{v:.2f} GB", "< 4 GB", v < 4)
        )
    return targets


def _bench(args: argparse.Namespace, workdir: Path) -> None:
    from tmesig import simulate

    n_cells = args.cells or (5_000 if args.quick else 200_000)
    n_backed = args.backed_cells or (n_cells if args.quick else 1_000_000)
    ssgsea_cells = min(args.ssgsea_cells, 20 if args.quick else args.ssgsea_cells)
    args.genes = args.genes or (3_000 if args.quick else 20_000)
    print(
        f"# bench_scoring: {n_cells:,} cells x {args.genes:,} genes (log-normalised, simulated, "
        f"seed {args.seed}); backed run {n_backed:,} cells; {os.cpu_count()} cores",
        flush=True,
    )
    t0 = time.perf_counter()
    data = simulate.write_h5ad_chunked(
        workdir / f"sim_{n_cells}.h5ad", n_cells, n_genes=args.genes, seed=args.seed
    )
    print(f"# simulated + written in {time.perf_counter() - t0:.1f} s: {data}", flush=True)
    records = _run_methods(data, workdir, ssgsea_cells, args.quick)
    backed_data = _backed_data(data, workdir, args, n_cells, n_backed)
    records["tmesig_backed"] = _run_child("tmesig_backed", backed_data, workdir, ssgsea_cells)
    rb = records["tmesig_backed"]
    print("# done tmesig_backed: " + (rb.get("error") or f"{rb['wall_s']:.2f} s"), flush=True)
    _print_table(records, n_cells)
    for name, value, goal, ok in _targets(records):
        print(f"target {name}: {value} (goal {goal}) {'PASS' if ok else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (targets are reported, not enforced)."""
    args = _parse_args(argv)
    if args.worker:
        _worker(args.worker, args.data, args.out, args.ssgsea_cells)
        return 0
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="bench_scoring_") as tmp:
            _bench(args, Path(tmp))
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        _bench(args, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
