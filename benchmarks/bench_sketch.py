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

``--pipeline``: the whole pipeline under Snakemake, as issue 14 measures it::

    python benchmarks/bench_sketch.py --pipeline --cells 100000 --sketch 20000 \
        [--subsets-sketch 5000] [--full-run DIR] [--data FILE] [--workdir DIR]

Data: bench_scale's simulation (``_scale_data.write_counts``: 20,000 genes, 16 patients,
mast cells thinned to 0.5 % and plasma cells to 0.8 %; ``--data`` reuses a file). Two
Snakemake runs up to ``annotation.tsv`` (ingest, QC, clustering, lineage calls, subsets
with copy number): ``full`` (``cluster.sketch_above`` above the cell count,
``subsets.sketch_above: null``; ``--full-run`` reuses a finished run when its clustering
was not sketched and no lineage was over its ``subsets.sketch_above``) and the sketch run
(``cluster.sketch_above = sketch_size = --sketch``, ``--method`` geosketch by default;
``subsets.sketch_above = --subsets-sketch``, default a quarter of ``--sketch``: every
lineage with more cells is sub-clustered on a sketch of that many cells). A run whose
``annotation.tsv`` is up to date is not redone. Figures: lineage (``compartment``) and state
agreement of the sketch run with the full run, recall of each planted rare cell type
against the simulated truth (both runs) and of each label under 1 % of the full run's cells
against the full run, which labels the disagreeing cells move between, and each run's
per-rule wall time and peak memory. Targets: lineage >= 0.95, state >= 0.90, every planted
rare type's truth recall and every rare lineage's recall against the full run >= 0.9.
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


#: Planted rare cell types of bench_scale's simulation and the label each should get.
PLANTED_RARE = {"mast": ("compartment", "mast"), "plasma": ("state", "plasma_cell")}
GOAL_LINEAGE, GOAL_STATE, GOAL_RECALL = 0.95, 0.90, 0.9
NEVER = 10**9  # cluster.sketch_above of the full run: never sketch


def _scale():
    """bench_scale's helper modules (simulation, Snakemake runner, comparisons)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    import _scale_data
    import _scale_pipeline
    import _scale_report

    return _scale_data, _scale_pipeline, _scale_report


def _run_file(run_dir: Path, name: str) -> Path:
    from tmesig.workflow_paths import WorkflowPaths

    return run_dir / getattr(WorkflowPaths(), name).format(dataset=_scale()[1].DATASET)


def _schema_default(section: str, key: str):
    import yaml

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return schema["properties"][section]["properties"][key].get("default")


def _cluster_sketch(run_dir: Path) -> dict:
    """What the cluster stage recorded about its sketch (``uns['tmesig_cluster']``)."""
    import h5py

    with h5py.File(_run_file(run_dir, "clustered"), "r", locking=False) as f:
        grp = f["uns/tmesig_cluster/sketch"]
        out = {k: grp[k][()] for k in grp}
        in_sketch = f["obs/in_sketch"][()] if "in_sketch" in f["obs"] else None
    out = {k: v.decode() if isinstance(v, bytes) else np.asarray(v).item() for k, v in out.items()}
    out["in_sketch"] = None if in_sketch is None else int(np.asarray(in_sketch).sum())
    return out


def _lineage_sizes(run_dir: Path) -> pd.Series:
    """Cells per lineage as the subsets stage saw them (``annotation_subsets.tsv``), else
    per ``compartment`` of ``annotation.tsv``."""
    path = _run_file(run_dir, "annotation_subsets")
    if path.exists():
        return pd.read_csv(path, sep="\t", usecols=["lineage"])["lineage"].value_counts()
    return pd.read_csv(_run_file(run_dir, "annotation"), sep="\t")["compartment"].value_counts()


def reusable_full(run_dir: Path, data: Path) -> str | None:
    """Why a finished run cannot serve as the full-data run (None: it can).

    It must have read ``data``, written ``annotation.tsv`` and ``clustered.h5ad``, not
    sketched the clustering, and have no lineage above its ``subsets.sketch_above``. That
    it ran the same code as the sketch run (apart from the sketch) is not checked.

    Parameters
    ----------
    run_dir
        A finished pipeline run's working directory (``config.yaml``, ``samples.tsv``).
    data
        The input the sketch run reads.
    """
    import yaml

    cfg_path, sheet = run_dir / "config.yaml", run_dir / "samples.tsv"
    ann, clustered = _run_file(run_dir, "annotation"), _run_file(run_dir, "clustered")
    for path in (cfg_path, sheet, ann, clustered):
        if not path.exists():
            return f"{path} is missing"
    source = Path(pd.read_csv(sheet, sep="\t")["path"].iloc[0])
    if not (source.exists() and source.resolve().samefile(Path(data).resolve())):
        return f"it read {source}, not {data}"
    method = _cluster_sketch(run_dir).get("method")
    if method != "none":
        return f"its clustering ran on a sketch ({method})"
    cfg = yaml.safe_load(cfg_path.read_text()) or {}
    above = (cfg.get("subsets") or {}).get(
        "sketch_above", _schema_default("subsets", "sketch_above")
    )
    biggest = _lineage_sizes(run_dir).max()
    if above is not None and biggest > above:
        return f"a lineage of {biggest} cells was sub-clustered on a sketch (sketch_above {above})"
    return None


def _pipeline_run(run_dir: Path, data: Path, extra: dict, *, cores: int) -> dict:
    """Snakemake up to ``annotation.tsv`` in ``run_dir`` (a no-op when it is up to date)."""
    _, pipe, _ = _scale()
    pipe.write_config(run_dir, data, extra)
    target = str(_run_file(run_dir, "annotation").relative_to(run_dir))
    print(f"# run {run_dir.name}: {json.dumps(extra)}", flush=True)
    run = pipe.run_pipeline(run_dir, cores=cores, targets=(target,))
    run.pop("headers", None)
    print(f"# run {run_dir.name}: rc={run['returncode']} in {run['wall_s']:.0f} s", flush=True)
    if run["returncode"] != 0:
        print(Path(run["log"]).read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"the {run_dir.name} run failed: {run['log']}")
    return run


def _rules(run_dir: Path) -> pd.DataFrame:
    """Wall s and peak MB per rule from the run's ``benchmark:`` tables (the last row)."""
    from tmesig.workflow_paths import WorkflowPaths

    bench_dir = (run_dir / WorkflowPaths.benchmark("x").format(dataset=_scale()[1].DATASET)).parent
    return _scale()[1].read_benchmarks(bench_dir)


def disagreements(full: pd.Series, sketch: pd.Series, *, top: int = 8) -> pd.DataFrame:
    """Where the two runs' labels differ: cells per (full label, sketch label), largest first.

    Parameters
    ----------
    full, sketch
        One label per cell (same index).
    top
        Pairs kept.

    Returns
    -------
    DataFrame
        ``full``, ``sketch``, ``cells``, ``share_of_full`` (of the full label's cells).
    """
    a, b = full.astype(str), sketch.reindex(full.index).astype(str)
    differ = a != b
    pairs = pd.DataFrame({"full": a[differ], "sketch": b[differ]}).value_counts()
    out = pairs.rename("cells").reset_index().head(top)
    out["share_of_full"] = out["cells"] / out["full"].map(a.value_counts()).astype(float)
    return out


def per_label_agreement(full: pd.Series, sketch: pd.Series) -> pd.Series:
    """Per full-run label, the share of its cells the sketch run labels the same.

    Parameters
    ----------
    full, sketch
        One label per cell (same index).
    """
    a, b = full.astype(str), sketch.reindex(full.index).astype(str)
    return (a == b).groupby(a).mean().sort_values()


def pipeline_targets(agree: dict, truth: dict) -> list[str]:
    """Target lines: lineage and state agreement, rare lineages vs full, planted vs truth.

    Parameters
    ----------
    agree
        :func:`_scale_report.agreement` of the sketch run against the full run.
    truth
        :func:`_scale_report.truth_recall` of the sketch run (:data:`PLANTED_RARE`).
    """
    line = _scale()[2].target_line
    out = [
        line("sketch_lineage_agreement", f"{agree['lineage']:.4f}", ">= 0.95",
             agree["lineage"] >= GOAL_LINEAGE),
        line("sketch_state_agreement", f"{agree['state']:.4f}", ">= 0.90",
             agree["state"] >= GOAL_STATE),
    ]  # fmt: skip
    for label, rec in sorted(agree["rare"].items()):
        if label.startswith("lineage:"):
            value = f"{rec['recall']:.4f} of {rec['n']}"
            ok = rec["recall"] >= GOAL_RECALL
            out.append(line(f"sketch_rare_recall_vs_full[{label}]", value, ">= 0.9", ok))
    for kind, rec in sorted(truth.items()):
        name = f"sketch_rare_recall_vs_truth[{kind}]"
        if rec["recall"] is None:
            out.append(line(name, None, ">= 0.9", None, "no such cells"))
            continue
        value = f"{rec['recall']:.4f} of {rec['n']} ({rec['label']})"
        out.append(line(name, value, ">= 0.9", rec["recall"] >= GOAL_RECALL))
    return out


def _print_comparison(full: pd.DataFrame, sketch: pd.DataFrame, agree: dict) -> None:
    """Agreement, rare labels against the full run, and where the labels move."""
    print(f"cells compared {agree['n_cells']:,}")
    print(f"lineage agreement {agree['lineage']:.4f}; state agreement {agree['state']:.4f}")
    for label, rec in sorted(agree["rare"].items()):
        print(f"rare (< 1 % in full) {label}: {rec['n']} cells, recall vs full {rec['recall']:.4f}")
    for level, col in (("lineage", "compartment"), ("state", "state")):
        per = per_label_agreement(full[col], sketch[col])
        print(
            f"{level} agreement per full-run label (lowest first): "
            + ", ".join(f"{k} {v:.3f}" for k, v in per.items())
        )
        moved = disagreements(full[col], sketch[col])
        print(f"{level} disagreements, full -> sketch (cells, share of the full label):")
        for r in moved.itertuples():
            print(f"  {r.full} -> {r.sketch}: {r.cells} ({r.share_of_full:.3f})")


def _print_runs(runs: dict[str, Path]) -> None:
    """Wall s and peak MB of both runs for the rules the last run needed (up to annotation)."""
    tables = {name: _rules(d) for name, d in runs.items()}
    rules = list(tables[list(runs)[-1]].index)
    print("rule          " + "".join(f"{n + ' s':>14}{n + ' MB':>14}" for n in tables))
    for rule in rules:
        cells = []
        for t in tables.values():
            s, mb = (t.loc[rule, "s"], t.loc[rule, "max_rss"]) if rule in t.index else (None,) * 2
            cells.append(f"{s or float('nan'):14.0f}{mb or float('nan'):14.0f}")
        print(f"{rule:14}" + "".join(cells))
    for name, t in tables.items():
        t = t.reindex(rules)
        print(f"{name}: these rules' wall {t['s'].sum():.0f} s, peak {t['max_rss'].max():.0f} MB")
    for name, d in runs.items():
        print(f"{name}: clustering sketch {_cluster_sketch(d)}")


def _print_truth(obs: pd.DataFrame, full: pd.DataFrame, sketch: pd.DataFrame) -> dict:
    """Both runs against the simulated truth; returns the sketch run's planted-rare recall."""
    rep = _scale()[2]
    t_full = rep.truth_recall(obs["cell_type"], full, PLANTED_RARE)
    t_sketch = rep.truth_recall(obs["cell_type"], sketch, PLANTED_RARE)
    for kind in PLANTED_RARE:
        f, k = t_full[kind], t_sketch[kind]
        print(
            f"planted {kind} ({f['n']} cells, {f['label']}): recall vs truth "
            f"full {f['recall']:.4f}, sketch {k['recall']:.4f}"
        )
    if "compartment" in obs:
        truth = obs["compartment"].astype(str)
        acc = {
            name: float((run["compartment"].astype(str) == truth.reindex(run.index)).mean())
            for name, run in (("full", full), ("sketch", sketch))
        }
        print(f"lineage accuracy vs simulated compartment: {acc}")
    return t_sketch


def pipeline_main(args: argparse.Namespace) -> int:
    """``--pipeline``: full vs sketched Snakemake runs; figures and target lines."""
    import anndata as ad

    data_mod, _, rep = _scale()
    cells, size = args.cells, args.sketch_size or max(args.cells // 10, 100)
    sub = args.subsets_sketch or max(size // 4, 100)
    work = args.workdir / str(cells)
    t0 = time.perf_counter()
    data = args.data or data_mod.write_counts(args.workdir / f"sim_{cells}.h5ad", cells)
    print(f"data {data} ({data_mod.matrix_header(data)}; {time.perf_counter() - t0:.0f} s)")
    full_dir = args.full_run
    why = reusable_full(full_dir, data) if full_dir else "no --full-run"
    if why is not None:
        print(f"# full run: computed ({why})", flush=True)
        full_dir = work / "pipeline" / "full"
        extra = {"cluster": {"sketch_above": NEVER}, "subsets": {"sketch_above": None}}
        _pipeline_run(full_dir, data, extra, cores=args.cores)
    else:
        print(f"# full run: reused {full_dir} (clustering and sub-clustering on every cell)")
    tag = "" if args.method == "geosketch" else f"_{args.method}"
    sketch_dir = work / "pipeline" / f"sketch_{size}_{sub}{tag}"
    extra = {
        "cluster": {"sketch_above": size, "sketch_size": size, "sketch_method": args.method},
        "subsets": {"sketch_above": sub},
    }
    run = _pipeline_run(sketch_dir, data, extra, cores=args.cores)
    full = pd.read_csv(_run_file(full_dir, "annotation"), sep="\t", index_col=0)
    sketch = pd.read_csv(_run_file(sketch_dir, "annotation"), sep="\t", index_col=0)
    obs = ad.read_h5ad(data, backed="r").obs
    lineages = _lineage_sizes(sketch_dir)
    print(
        f"sketch run: Snakemake {run['wall_s']:.0f} s (seconds if it was up to date); "
        f"lineages sub-clustered on a sketch of {sub} cells: "
        + ", ".join(f"{k} ({v})" for k, v in lineages.items() if v > sub)
    )
    _print_runs({"full": full_dir, "sketch": sketch_dir})
    agree = rep.agreement(full, sketch)
    _print_comparison(full, sketch.reindex(full.index), agree)
    t_sketch = _print_truth(obs, full, sketch)
    for line in pipeline_targets(agree, t_sketch):
        print(line)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20,000 cells")
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument(
        "--sketch-size", "--sketch", type=int, default=None, help="default: a tenth of the cells"
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tmesig_bench_sketch"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pipeline", action="store_true", help="full vs sketched Snakemake runs")
    ap.add_argument("--subsets-sketch", type=int, help="--pipeline: subsets.sketch_above")
    ap.add_argument("--method", default="geosketch", choices=RUNS[1:], help="--pipeline")
    ap.add_argument(
        "--full-run", type=Path, help="--pipeline: a finished full run (same code) to reuse"
    )
    ap.add_argument("--cores", type=int, default=2, help="--pipeline: snakemake --cores")
    ap.add_argument("--worker", choices=RUNS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help="--pipeline: the input h5ad (default: simulated)")
    args = ap.parse_args()
    if args.pipeline:
        return pipeline_main(args)
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
