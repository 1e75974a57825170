"""Issue 14 benchmark: the whole tmesig pipeline at 10,000 / 100,000 (/ 1,000,000) cells.

Run by hand (needs the ``bench`` extra: ``pip install -e ".[bench]"``)::

    python benchmarks/bench_scale.py [--sizes 10000,100000] [--full] [--cores 2]
                                     [--workdir /tmp/bench_scale] [--no-notebook] [--all]
                                     [--mem-mb 20000] [--figures-from FIGURES.json]

Per size: simulated counts (:mod:`tmesig.simulate`, written in chunks; 20,000 genes, 16
patients, responders vs non-responders sampled pre and post, mast and plasma cells thinned
to 0.5 % and 0.8 % of the cells: ``_scale_data.RARE``), then ``snakemake --cores N`` on a
default config pointing at the file, with ``--resources mem_mb=`` ``--mem-mb`` (default
20,000: jobs whose memory requests would together pass it wait, as on a 24 GB laptop),
targeting every table (``--all``: rule ``all``, with the figures, table pages and findings
page) (:mod:`_scale_pipeline`). Printed per rule: wall s and
peak MB (``max_rss``) from the rules' ``benchmark:`` tables, the ``mem_mb`` each job asked for
(from Snakemake's job banners: what the scheduler would have been asked) and its ratio to
the measured peak, and the cells, genes and non-zeros of the rule's largest ``.h5ad`` input;
in total: wall time, the peak over rules and the sampled peak of the whole process tree,
and the intermediate ``.h5ad`` bytes under ``results/`` (at the end and the largest total
seen while running) as a multiple of the input file. At 10,000 and 100,000 cells the plain
scanpy notebook of the issue runs on the same file in a child process (:mod:`_scale_notebook`).
At ``--sketch-sizes`` (default 100,000), when the config schema has ``cluster.sketch_above``,
a second run forces the sketch and its ``annotation.tsv`` is compared with the full run's
(lineage and state agreement, recall of each label under 1 % of cells); without the key it
is skipped with a note. Figures go to ``<workdir>/scale_figures.json`` and, per rule and
size, ``scale_rules.tsv`` (size, rule, n_obs, n_vars, nnz, s, max_rss, requests) in the work
dir and in ``--data-dir`` (default ``benchmarks/data/scale/``), for the resource model's fit.
Each run's directory is kept under the work dir. The script ends with the issue's
``target NAME: VALUE (goal GOAL) PASS|FAIL`` lines (``SKIPPED`` when not measured).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(BENCH))

import _scale_data as data_mod  # noqa: E402
import _scale_notebook as nb_mod  # noqa: E402
import _scale_pipeline as pipe  # noqa: E402
import _scale_report as rep  # noqa: E402

NOTEBOOK_MAX = 100_000  # the notebook runs at these sizes and below
#: Planted rare types and the label tmesig should give them (column of annotation.tsv).
RARE_LABELS = {"mast": ("compartment", "mast"), "plasma": ("state", "plasma_cell")}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000", help="comma-separated cell counts")
    p.add_argument("--full", action="store_true", help="also 1,000,000 cells")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument(
        "--mem-mb", type=int, default=20_000, help="--resources mem_mb= of the runs (0: none)"
    )
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench_scale"))
    p.add_argument("--data-dir", type=Path, default=BENCH / "data" / "scale")
    p.add_argument("--sketch-sizes", default="100000", help="sizes with a forced-sketch run")
    p.add_argument("--sketch-fraction", type=float, default=0.2, help="sketch size / cells")
    p.add_argument("--no-notebook", action="store_true")
    p.add_argument("--all", action="store_true", help="rule all (figures, pages) not the tables")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--figures-from",
        type=Path,
        help="scale_figures.json of an earlier run: its sizes not run here join the targets",
    )
    p.add_argument("--notebook-worker", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--notebook-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.size_list = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if args.full and 1_000_000 not in args.size_list:
        args.size_list.append(1_000_000)
    args.sketch_list = {int(s) for s in args.sketch_sizes.split(",") if s.strip()}
    return args


def _schema_has(section: str, key: str) -> bool:
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema.get("properties", {}).get(section, {}).get("properties", {})
    return key in props


def _run_size(n: int, args: argparse.Namespace) -> dict:
    """Simulate, run the pipeline (and the notebook, and the forced sketch) at ``n`` cells."""
    root = args.workdir / str(n)
    t0 = time.perf_counter()
    data = data_mod.write_counts(args.workdir / f"sim_{n}.h5ad", n, seed=args.seed)
    head = data_mod.matrix_header(data)
    print(f"# {n:,} cells: data {data} ({time.perf_counter() - t0:.0f} s): {head}", flush=True)
    run_dir = root / "full"
    pipe.write_config(run_dir, data)
    targets = () if args.all else pipe.table_targets()
    warm_s = _warm(data)  # both sides start with the input in the page cache
    print(f"# {n:,} cells: input read once before the pipeline ({warm_s:.0f} s)", flush=True)
    run = pipe.run_pipeline(run_dir, cores=args.cores, targets=targets, mem_mb=args.mem_mb)
    run["end_h5ad_bytes"] = pipe.h5ad_bytes(run_dir / "results")
    print(f"# {n:,} cells: tmesig rc={run['returncode']} in {run['wall_s']:.0f} s", flush=True)
    if run["returncode"] != 0:
        print(Path(run["log"]).read_text()[-3000:], file=sys.stderr)
    run["headers"][str(data)] = head
    rows = _rules(n, run_dir, run)
    fig = {"n_cells": n, "input": str(data), "input_bytes": data.stat().st_size, **head}
    fig.update(pipeline=_public(run), rules=rows, run_dir=str(run_dir))
    fig["in_sketch"] = _in_sketch(run_dir)
    if n <= NOTEBOOK_MAX and not args.no_notebook:
        _warm(data)
        fig["notebook"] = nb_mod.run_notebook(data, root / "notebook.json", seed=args.seed)
        print(f"# {n:,} cells: notebook {fig['notebook'].get('wall_s', 0):.0f} s", flush=True)
    fig["truth_recall_full"] = _truth(data, run_dir)
    if n in args.sketch_list:
        fig["sketch"] = _sketch_run(n, data, root, run_dir, args)
    return fig


def _warm(path: Path, *, block: int = 1 << 24) -> float:
    """Read ``path`` once (into the page cache): the pipeline and the notebook then both start
    with their input in memory, whatever ran before (the notebook, run second, used to find
    the file the pipeline had just read in memory). Returns the seconds it took."""
    t0 = time.perf_counter()
    with open(path, "rb") as handle:
        while handle.read(block):
            pass
    return time.perf_counter() - t0


def _public(run: dict) -> dict:
    return {k: v for k, v in run.items() if k != "headers"}


def _rules(n: int, run_dir: Path, run: dict) -> list[dict]:
    from tmesig.workflow_paths import WorkflowPaths

    bench_dir = (run_dir / WorkflowPaths.benchmark("x").format(dataset=pipe.DATASET)).parent
    jobs = pipe.parse_jobs(Path(run["log"]).read_text())
    inputs = {r: pipe.largest_input(j["input"], run["headers"], run_dir) for r, j in jobs.items()}
    return rep.rule_rows(n, pipe.read_benchmarks(bench_dir), jobs, inputs)


def _annotation(run_dir: Path) -> pd.DataFrame | None:
    from tmesig.workflow_paths import WorkflowPaths

    path = run_dir / WorkflowPaths().annotation.format(dataset=pipe.DATASET)
    return pd.read_csv(path, sep="\t", index_col=0) if path.exists() else None


def _truth(data: Path, run_dir: Path) -> dict | None:
    import anndata as ad

    calls = _annotation(run_dir)
    if calls is None:
        return None
    obs = ad.read_h5ad(data, backed="r").obs
    return rep.truth_recall(obs["cell_type"], calls, RARE_LABELS)


def _in_sketch(run_dir: Path) -> int | None:
    """Cells in the sketch, when the cluster stage records ``obs["in_sketch"]``."""
    import anndata as ad
    from tmesig.workflow_paths import WorkflowPaths

    path = run_dir / WorkflowPaths().clustered.format(dataset=pipe.DATASET)
    if not path.exists():
        return None
    obs = ad.read_h5ad(path, backed="r").obs
    return int(obs["in_sketch"].sum()) if "in_sketch" in obs else None


def _sketch_run(n: int, data: Path, root: Path, full_dir: Path, args) -> dict:
    """A second run with the sketch forced, compared with the full run's annotation."""
    if not _schema_has("cluster", "sketch_above"):
        note = "cluster.sketch_above is not in this code's config schema"
        print(f"# {n:,} cells: sketch comparison skipped: {note}", flush=True)
        return {"skipped": note}
    full = _annotation(full_dir)
    if full is None:
        return {"skipped": "the full run has no annotation.tsv"}
    extra = {"sketch_above": 1_000}
    if _schema_has("cluster", "sketch_size"):
        extra["sketch_size"] = max(1_000, int(n * args.sketch_fraction))
    run_dir = root / "sketch"
    overrides = {"cluster": extra}
    if _schema_has("subsets", "sketch_above"):  # the state labels then come from a sketch too
        overrides["subsets"] = {"sketch_above": max(100, n // 4)}
    pipe.write_config(run_dir, data, overrides)
    from tmesig.workflow_paths import WorkflowPaths

    target = WorkflowPaths().annotation.format(dataset=pipe.DATASET)
    run = pipe.run_pipeline(run_dir, cores=args.cores, targets=(target,), mem_mb=args.mem_mb)
    print(f"# {n:,} cells: sketch run rc={run['returncode']} {run['wall_s']:.0f} s", flush=True)
    sketched = _annotation(run_dir)
    if run["returncode"] != 0 or sketched is None:
        return {"skipped": f"the sketch run failed (log {run['log']})", "config": extra}
    out = rep.agreement(full, sketched)
    out.update(config=extra, wall_s=run["wall_s"], in_sketch=_in_sketch(run_dir))
    out["truth_recall"] = _truth(data, run_dir)
    return out


def _print_size(fig: dict) -> None:
    p, n = fig["pipeline"], fig["n_cells"]
    print(f"\n== {n:,} cells x {fig['n_vars']:,} genes, {fig['nnz']:,} non-zeros ==")
    print(rep.rule_table(fig["rules"]))
    mb = fig["input_bytes"] / 1e6
    print(
        f"total wall {p['wall_s']:,.0f} s; process-tree peak {p['peak_tree_mb']:,.0f} MB; "
        f"input {mb:,.0f} MB; h5ad under results: end {p['end_h5ad_bytes'] / 1e6:,.0f} MB "
        f"({p['end_h5ad_bytes'] / fig['input_bytes']:.2f}x), largest while running "
        f"{p['peak_h5ad_bytes'] / 1e6:,.0f} MB ({p['peak_h5ad_bytes'] / fig['input_bytes']:.2f}x)"
    )
    nb = fig.get("notebook")
    if nb and "peak_mb" in nb:
        print(
            f"scanpy notebook: {nb['wall_s']:,.0f} s, peak {nb['peak_mb']:,.0f} MB; tmesig / "
            f"notebook: wall {p['wall_s'] / nb['wall_s']:.2f}x"
        )
    elif nb:
        print(f"scanpy notebook failed: {nb.get('error', '')[-500:]}")
    print(f"in_sketch (full run): {fig.get('in_sketch')}; truth recall: {fig['truth_recall_full']}")
    if "sketch" in fig:
        print(f"sketch: {json.dumps(fig['sketch'], default=str)}")


def _write(figs: dict, args: argparse.Namespace) -> None:
    rows = [r for f in figs.values() for r in f["rules"]]
    table = pd.DataFrame(rows, columns=rep.RULE_COLUMNS)
    blob = {"cores": args.cores, "cpu_count": os.cpu_count(), "sizes": figs}
    for out in (args.workdir, args.data_dir):
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "scale_rules.tsv", sep="\t", index=False)
        (out / "scale_figures.json").write_text(json.dumps(blob, indent=1, default=str))
    print(f"\n# figures: {args.workdir / 'scale_figures.json'}, {args.data_dir}/scale_rules.tsv")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (targets are reported, not enforced)."""
    args = _parse_args(argv)
    if args.notebook_worker:
        nb_mod.notebook(args.notebook_worker, args.notebook_out, seed=args.seed)
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# bench_scale: sizes {args.size_list}, --cores {args.cores}, {os.cpu_count()} CPUs")
    figs = {}
    for n in args.size_list:
        figs[n] = _run_size(n, args)
        _print_size(figs[n])
        _write(figs, args)
    print()
    for line in rep.targets(with_earlier(figs, args.figures_from)):
        print(line)
    return 0


def with_earlier(figs: dict, path: Path | None) -> dict:
    """``figs`` plus the sizes of an earlier run's ``scale_figures.json`` not measured here
    (each said on the terminal; the written figures stay this run's own).

    Parameters
    ----------
    figs
        This run's figures by size.
    path
        The earlier run's ``scale_figures.json`` (None: ``figs`` as it is).
    """
    if path is None:
        return figs
    earlier = {int(n): f for n, f in json.loads(Path(path).read_text())["sizes"].items()}
    out = dict(figs)
    for n in sorted(set(earlier) - set(figs)):
        out[n] = earlier[n]
        print(f"# {n:,} cells: figures from an earlier run ({path}), not measured here")
    return out


if __name__ == "__main__":
    sys.exit(main())
