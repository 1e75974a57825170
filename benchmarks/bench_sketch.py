"""Clustering on a sketch vs on every cell: lineage labels, rare compartments, time, memory.

Run by hand::

    python benchmarks/bench_sketch.py                 # 100,000 cells (about 20 min on 2 cores)
    python benchmarks/bench_sketch.py --quick         # 20,000 cells

Data: ``tmesig.simulate`` (counts, 20,000 genes, 16 patients), with two compartments made
rare (< 1 % of cells) by keeping a seeded share of their cells: mast cells (a quarter of
them, about 0.5 %) and endothelial cells (a tenth, about 0.75 %). The file is written once
to the work dir.

Three runs, each in its own process (wall time and peak RSS are the child's): the whole
clustering on every cell (``full``), and on a sketch of ``--sketch-size`` cells (default a
tenth of the cells, the ratio of the default 100,000 of a million) drawn by ``geosketch``
and by ``uniform`` sampling (``sketch_above`` forced to 0), the other cells placed by their
nearest sketch cells. Each run log-normalises (``normalise_in_place`` when it exists, else
scanpy's normalize_total + log1p), clusters (:func:`tmesig.cluster.cluster`) and calls the
lineages as the pipeline does (:func:`tmesig.annotate.annotate` on the Leiden clusters, the
shipped markers, the config's thresholds).

Figures: share of cells whose sketch-based lineage equals the full-data lineage (goal
>= 0.95); per rare compartment, the recall of the sketch run against the full-data labels
(cells the full run calls mast that the sketch run calls mast; goal >= 0.9) and, for
reference, both runs' recall against the planted truth; wall time and peak memory. Ends
with ``target NAME: VALUE (goal GOAL) PASS|FAIL`` lines.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

#: compartment -> share of its cells kept (making it rare).
RARE_KEEP = {"mast": 0.25, "endothelial": 0.10}
RUNS = ("full", "geosketch", "uniform")


def make_data(path: Path, n_cells: int, *, n_genes: int, seed: int) -> Path:
    """Simulated counts with the rare compartments of :data:`RARE_KEEP`, written once."""
    import anndata as ad
    import scipy.sparse as sp
    from tmesig.simulate import design

    if path.exists():
        return path
    keep_share = 1 - sum(
        0.02 * (1 - k) if c == "mast" else 0.07 * (1 - k) for c, k in RARE_KEEP.items()
    )
    sim = design(int(n_cells / keep_share), n_genes=n_genes, n_patients=16, seed=seed)
    rng = np.random.default_rng(seed + 1)
    comp = sim.obs["compartment"].astype(str).to_numpy()
    keep = np.ones(sim.n_obs, dtype=bool)
    for c, share in RARE_KEEP.items():
        keep &= ~((comp == c) & (rng.random(sim.n_obs) >= share))
    blocks, start = [], 0
    for block in sim.chunks(chunk_size=20_000):
        blocks.append(block[keep[start : start + block.shape[0]]])
        start += block.shape[0]
    adata = ad.AnnData(
        X=sp.vstack(blocks, format="csr"), obs=sim.obs[keep].copy(), var=sim.var.copy()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(path)
    return path


def _lognormalise(adata) -> str:
    try:
        from tmesig.io.expression import normalise_in_place
    except ImportError:
        import scanpy as sc

        sc.pp.normalize_total(adata, target_sum=1e4)
        sc.pp.log1p(adata)
        return "scanpy normalize_total + log1p"
    normalise_in_place(adata, mode="counts")
    return "tmesig normalise_in_place"


def worker(run: str, data: Path, out: Path, *, sketch_size: int, seed: int) -> None:
    """One run in this process: normalise, cluster, call lineages; labels + figures to ``out``."""
    import anndata as ad
    from tmesig.annotate import DEFAULT_MARKERS, AnnotateOptions, annotate, load_markers
    from tmesig.cluster import SketchOptions, cluster

    adata = ad.read_h5ad(data)
    norm = _lognormalise(adata)
    loaded_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if run == "full":
        opts = SketchOptions(sketch_above=10**12, sketch_size=sketch_size)
    else:
        opts = SketchOptions(sketch_above=0, sketch_size=sketch_size, sketch_method=run)
    t0 = time.perf_counter()
    cluster(adata, seed=seed, sketch=opts)
    t_cluster = time.perf_counter() - t0
    options = AnnotateOptions(min_confidence=0.5, min_margin=0.3, min_score=0.05)
    cells, _ = annotate(adata, load_markers(DEFAULT_MARKERS), cluster_key="leiden", options=options)
    t_all = time.perf_counter() - t0
    table = pd.DataFrame(
        {
            "compartment": cells["compartment"].astype(str),
            "truth": adata.obs["compartment"].astype(str),
            "in_sketch": adata.obs["in_sketch"].to_numpy(),
            "leiden": adata.obs["leiden"].astype(str),
        }
    )
    table.to_csv(out.with_suffix(".tsv"), sep="\t")
    figures = {
        "run": run,
        "normalisation": norm,
        "n_cells": int(adata.n_obs),
        "n_clusters": int(adata.obs["leiden"].nunique()),
        "cluster_s": t_cluster,
        "cluster_annotate_s": t_all,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_mb": loaded_mb,
        "sketch": adata.uns["tmesig_cluster"]["sketch"],
    }
    out.with_suffix(".json").write_text(json.dumps(figures, indent=1, default=str))


def _recall(got: pd.Series, ref: pd.Series, comp: str) -> float:
    mask = ref == comp
    return float((got[mask] == comp).mean()) if mask.any() else float("nan")


def compare(work: Path) -> list[tuple[str, float, str, bool]]:
    """Print the figures of the three runs; return the targets."""
    tabs = {r: pd.read_csv(work / f"{r}.tsv", sep="\t", index_col=0) for r in RUNS}
    figs = {r: json.loads((work / f"{r}.json").read_text()) for r in RUNS}
    full = tabs["full"]
    truth = full["truth"]
    shares = truth.value_counts(normalize=True)
    rare = sorted(shares[shares < 0.01].index)
    print(
        f"cells {len(full):,}; rare compartments (< 1 %): "
        + ", ".join(f"{c} {shares[c]:.2%} ({(truth == c).sum()} cells)" for c in rare)
    )
    print(f"normalisation: {figs['full']['normalisation']}")
    print(
        "run        clusters  cluster_s  +annotate_s  peak_MB  (after load)  sketch  rare in sketch"
    )
    for r in RUNS:
        f, t = figs[r], tabs[r]
        in_rare = ", ".join(f"{c} {int((t['in_sketch'] & (truth == c)).sum())}" for c in rare)
        print(
            f"{r:10} {f['n_clusters']:8d} {f['cluster_s']:10.1f} {f['cluster_annotate_s']:12.1f} "
            f"{f['peak_mb']:8.0f} {f['loaded_mb']:12.0f}  {int(t['in_sketch'].sum()):6d}  {in_rare}"
        )
    print(
        "lineage accuracy vs planted truth: "
        + ", ".join(f"{r} {(tabs[r]['compartment'] == truth).mean():.4f}" for r in RUNS)
    )
    targets = []
    for r in RUNS[1:]:
        t = tabs[r]
        agree = float((t["compartment"] == full["compartment"]).mean())
        targets.append((f"lineage_agreement_{r}", agree, ">= 0.95", agree >= 0.95))
        for c in rare:
            rec = _recall(t["compartment"], full["compartment"], c)
            vs_truth = _recall(t["compartment"], truth, c)
            print(
                f"{r}: {c} recall vs full-data labels {rec:.4f}; vs truth {vs_truth:.4f} "
                f"(full vs truth {_recall(full['compartment'], truth, c):.4f})"
            )
            targets.append((f"rare_recall_{r}_{c}", rec, ">= 0.9", rec >= 0.9))
        ratio_t = figs[r]["cluster_s"] / figs["full"]["cluster_s"]
        ratio_m = figs[r]["peak_mb"] / figs["full"]["peak_mb"]
        print(f"{r} / full: cluster time {ratio_t:.2f}x, peak memory {ratio_m:.2f}x")
    return targets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20,000 cells")
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--sketch-size", type=int, default=None, help="default: a tenth of the cells")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tmesig_bench_sketch"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worker", choices=RUNS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cells = 20_000 if args.quick else args.cells
    size = args.sketch_size or max(cells // 10, 100)
    work = args.workdir / f"{cells}"
    if args.worker:
        worker(args.worker, args.data, work / args.worker, sketch_size=size, seed=args.seed)
        return 0
    t0 = time.perf_counter()
    data = make_data(work / "data.h5ad", cells, n_genes=args.genes, seed=args.seed)
    gb = data.stat().st_size / 1e9
    print(f"data {data} ({gb:.2f} GB, made in {time.perf_counter() - t0:.0f} s)")
    for r in RUNS:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            r,
            "--data",
            str(data),
            "--cells",
            str(cells),
            "--sketch-size",
            str(size),
            "--workdir",
            str(args.workdir),
            "--seed",
            str(args.seed),
        ]
        subprocess.run(cmd, check=True)
    targets = compare(work)
    for name, value, goal, ok in targets:
        print(f"target {name}: {value:.4f} (goal {goal}) {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
