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
        score.score_mean_diff(warm, sets) if method != "tmesig_rank" else score.score_rank(
            warm, sets
        )
    t0 = time.perf_counter()
    result = None
    if method == "load":
        pass
    elif method == "floor":
        # one sparse product X @ W with the real sets' weights (controls excluded): the cost
        # of touching every non-zero once
        import scipy.sparse as sp

        w = np.zeros((adata.n_vars, len(sets)), dtype=np.float32)
        for k, gs in enumerate(sets):
            idx = adata.var_names.get_indexer(list(gs.genes))
            idx = idx[idx >= 0]
            w[idx, k] = 1.0 / len(idx)
        x = adata.X if sp.issparse(adata.X) else sp.csr_matrix(adata.X)
        result = np.asarray(x @ w)
    elif method in ("tmesig_mean_diff", "tmesig_backed"):
        result = score.score_mean_diff(adata, sets, seed=0).to_numpy()
    elif method == "scanpy_loop":
        result, _ = score.score_cells(adata, sets, method="scanpy", seed=0)
        result = result.to_numpy()
    elif method == "tmesig_rank":
        result = score.score_rank(adata, sets, max_rank=1500).to_numpy()
    elif method == "decoupler_aucell":
        import decoupler as dc
        import pandas as pd

        net = pd.DataFrame(
            [(gs.name, g) for gs in sets for g in gs.genes if g in adata.var_names],
            columns=["source", "target"],
        )
        dc.mt.aucell(adata, net, tmin=1, n_up=1500, verbose=False)
        result = adata.obsm["score_aucell"][[gs.name for gs in sets]].to_numpy()
    elif method == "gseapy_ssgsea":
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
        record["subsample"] = n
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


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (targets are reported, not enforced)."""
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
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.data, args.out, args.ssgsea_cells)
        return 0

    from tmesig import simulate

    n_cells = args.cells or (5_000 if args.quick else 200_000)
    n_backed = args.backed_cells or (n_cells if args.quick else 1_000_000)
    ssgsea_cells = min(args.ssgsea_cells, 20 if args.quick else args.ssgsea_cells)
    args.genes = args.genes or (3_000 if args.quick else 20_000)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_scoring_")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
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

    records: dict[str, dict] = {}
    for method in METHODS:
        if method == "decoupler_aucell":
            if args.quick:
                # decoupler's numba compilation alone takes ~1 min in a fresh process
                records[method] = {
                    "method": method,
                    "skipped": "quick mode (decoupler JIT start-up ~1 min)",
                }
                continue
            try:
                import decoupler  # noqa: F401
            except ImportError as exc:
                records[method] = {"method": method, "skipped": f"decoupler not importable ({exc})"}
                continue
        rec = _run_child(method, data, workdir, ssgsea_cells)
        records[method] = rec
        print(f"# done {method}: " + (rec.get("error") or f"{rec['wall_s']:.2f} s"), flush=True)

    if n_backed == n_cells:
        backed_data = data
    else:
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
    records["tmesig_backed"] = _run_child("tmesig_backed", backed_data, workdir, ssgsea_cells)
    rb = records["tmesig_backed"]
    print("# done tmesig_backed: " + (rb.get("error") or f"{rb['wall_s']:.2f} s"), flush=True)

    ref = records.get("scanpy_loop", {}).get("scores")
    ours_rank = records.get("tmesig_rank", {}).get("scores")
    header = f"{'method':<20}{'cells':>10}{'wall_s':>10}{'load_s':>8}{'peak_GB':>9}{'vs_scanpy_x':>12}{'max|d|_scanpy':>15}  note"
    print(header)
    base_wall = records.get("scanpy_loop", {}).get("wall_s")
    for method, rec in records.items():
        if "skipped" in rec or "error" in rec:
            print(
                f"{method:<20}{'-':>10}{'-':>10}{'-':>8}{'-':>9}{'-':>12}{'-':>15}  "
                f"{rec.get('skipped') or 'ERROR ' + rec['error']}"
            )
            continue
        wall = rec["wall_s"]
        note = ""
        if method == "gseapy_ssgsea":
            note = f"measured on {rec['subsample']} cells; wall_s extrapolated x{n_cells / rec['subsample']:.0f}"
            wall = wall * n_cells / rec["subsample"]
            rec["wall_extrapolated"] = wall
        if method == "tmesig_backed":
            note = "backed='r', wall_s includes both passes over the file"
        d = "-"
        scores = rec.get("scores")
        if ref is not None and scores is not None and method in ("tmesig_mean_diff", "scanpy_loop"):
            d = f"{np.max(np.abs(scores - ref)):.2e}"
        if method == "decoupler_aucell" and scores is not None and ours_rank is not None:
            r = np.mean(
                [
                    np.corrcoef(scores[:, k], ours_rank[:, k])[0, 1]
                    for k in range(scores.shape[1])
                    if np.std(scores[:, k]) > 0 and np.std(ours_rank[:, k]) > 0
                ]
            )
            note = f"mean per-set Pearson r with tmesig_rank {r:.3f}"
        speed = f"{base_wall / wall:.1f}" if base_wall and method != "load" and wall > 0 else "-"
        print(
            f"{method:<20}{rec['n_cells']:>10,}{wall:>10.2f}{rec['load_s']:>8.1f}{rec['peak_rss_gb']:>9.2f}"
            f"{speed:>12}{d:>15}  {note}"
        )

    def wall(m):
        rec = records.get(m, {})
        return rec.get("wall_extrapolated", rec.get("wall_s"))

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
        print(
            f"target rank_speedup_vs_decoupler_aucell: SKIPPED ({records['decoupler_aucell']['skipped']})"
        )
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
    for name, value, goal, ok in targets:
        print(f"target {name}: {value} (goal {goal}) {'PASS' if ok else 'FAIL'}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
