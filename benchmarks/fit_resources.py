"""Fit each rule's memory and time model to the benchmark files of whole-pipeline runs.

Reads, for every run directory given (a Snakemake working directory after a run of the
pipeline, e.g. one size of ``benchmarks/bench_scale.py``), every benchmark table
(``*.benchmark.tsv``, or ``benchmarks/<rule>.tsv``): wall seconds ``s`` and peak resident
memory ``max_rss`` (MB); and the size the workflow computes the job's request from: its
largest input matrix (:func:`tmesig.resources_model.largest_matrix` on the inputs Snakemake
recorded for the job in ``.snakemake/metadata``, found by its log file; an input deleted
since, such as a ``temp()`` matrix, counts as the dataset's own matrix), and for a job of a
scattered rule (``qc_doublets_<job>``, ``score_chunk_<chunk>``) the share of it that its
plan gives the job. Or reads those figures from a table (``--table``, columns ``size, rule,
n_obs, n_vars, nnz, s, max_rss``). A run still under way gives the rules finished so far.

Then, per rule, fits ``value = base + a × mnnz + b × cells×genes/1e9 + c × √mnnz`` (``mnnz``:
non-zeros / 1e6) to the peak memory and to the wall time (non-negative least squares on
relative errors, each size of the rule weighing the same, a small ridge so that collinear
terms share the load), raises the fit to the upper envelope of the measurements, and writes:

- ``benchmarks/data/resources/measurements.tsv``: the figures fitted to (what
  ``tests/unit/test_resources_model.py`` checks the model against);
- ``resources/compute/rule_costs.tsv``: the coefficients the workflow uses.

A scattered job's rule measured at one part size only (one big run) takes the shape of the
rule it was split from, raised to its own peaks.
It prints every rule's request (:func:`tmesig.resources_model.request`) against its peak
at each size. One command, e.g. after ``benchmarks/bench_scale.py --workdir W``::

    python benchmarks/fit_resources.py W/10000/full W/100000/full W/1000000/full
"""

import argparse
import base64
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import nnls

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from tmesig.io.ingest_file import STREAM_ABOVE  # noqa: E402
from tmesig.resources_model import (  # noqa: E402
    COSTS_TABLE,
    SPLIT_FROM,
    STREAMED,
    Cost,
    MatrixSize,
    block_share,
    job_share,
    largest_matrix,
    modelled_rule,
    request,
)

MEASUREMENTS = REPO / "benchmarks" / "data" / "resources" / "measurements.tsv"
COLUMNS = ["size", "rule", "n_obs", "n_vars", "nnz", "s", "max_rss"]
#: Ridge on the terms, relative to the data's scale: collinear terms share the load, and a
#: rule measured at one size only still grows with the matrix instead of being constant.
RIDGE = 1e-3
#: Scattered rules: a job's benchmark is ``<rule>_<n>``; it reads the share of the matrix
#: that its plan gives job (or block) ``n`` (what the workflow's request is computed from).
SCATTERED = {"qc_doublets": job_share, "score_chunk": block_share}
NUMBERED = re.compile(r"^(?P<rule>.+)_(?P<n>\d+)$")


def _benchmarks(run: Path) -> dict[Path, pd.Series]:
    """Each benchmark table of the run directory → its row with the largest peak."""
    out = {}
    files = [*run.rglob("*.benchmark.tsv"), *run.rglob("benchmarks/*.tsv")]
    for f in sorted(set(files)):
        if ".snakemake" in f.relative_to(run).parts:
            continue
        table = pd.read_csv(f, sep="\t")
        if len(table):
            out[f] = table.loc[table["max_rss"].idxmax()]
    return out


def _records(run: Path) -> list[dict]:
    """Snakemake's job records (rule, input, log) of the run directory."""
    records = []
    for f in sorted((run / ".snakemake" / "metadata").glob("*")):
        try:
            rec = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        try:
            rec["output"] = base64.urlsafe_b64decode(f.name).decode(errors="replace")
        except ValueError:
            rec["output"] = ""
        records.append(rec)
    return records


def _stem(path: str | Path) -> str:
    """A log or benchmark path without its suffix: the key that ties the two together."""
    return str(path).removesuffix(".tsv").removesuffix(".benchmark").removesuffix(".log")


def _numbered(name: str) -> tuple[str, int | None]:
    """``qc_doublets_3`` → (``qc_doublets``, 3): a scattered rule's job; else (name, None)."""
    numbered = NUMBERED.match(name)
    if numbered and numbered["rule"] in SCATTERED:
        return numbered["rule"], int(numbered["n"])
    return name, None


def _job(f: Path) -> tuple[str, str, int | None]:
    """(dataset, rule, job or block number) a benchmark file names, from its path alone."""
    parent = f.parent.parent if f.parent.name == "benchmarks" else f.parent
    name = f.name.removesuffix(".tsv").removesuffix(".benchmark").split(".")[0]
    return (parent.name, *_numbered(name))


def _input_size(run: Path, inputs: list[str], dataset_size: MatrixSize) -> MatrixSize:
    paths = [Path(p) if Path(p).is_absolute() else run / p for p in inputs]
    gone = [p for p in paths if not p.exists() and p.name.endswith((".h5ad", ".h5", ".mtx.gz"))]
    size = largest_matrix(paths)
    if not size.exact and dataset_size.exact:  # a temp() matrix left half-written
        return dataset_size
    return dataset_size if gone and dataset_size.nnz > size.nnz else size


def _job_size(run: Path, rule: str, n: int | None, inputs: list[str], data: MatrixSize):
    """What the workflow computes the job's request from: its largest input matrix, for a
    job of a scattered rule the share of it the job reads (``common.smk``: ``cost(rule,
    per="job")`` or ``per="chunk"``)."""
    size = _input_size(run, inputs, data)
    plans = [run / p for p in inputs if p.endswith("plan.tsv")]
    if rule in SCATTERED and n is not None and plans and plans[0].is_file():
        size = size.part(SCATTERED[rule](plans[0], n))
    return size


def _stream_above(run: Path, rule: str) -> int | None:
    """The streaming threshold the run's stage used: its config's, else the default."""
    if rule not in STREAMED:
        return None
    path = run / "config.yaml"
    config = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    return (config.get(rule) or {}).get("stream_above", STREAM_ABOVE)


def read_run(run: Path) -> pd.DataFrame:
    """The figures of one run directory: one row per benchmark table (rule or job)."""
    bench = _benchmarks(run)
    records = _records(run)
    jobs = {f: _job(f) for f in bench}
    datasets = {d for d, _, _ in jobs.values()}
    by_log: dict[str, dict] = {}
    by_rule: dict[tuple[str, str], list[str]] = {}
    for rec in records:
        for log in rec.get("log") or []:
            by_log.setdefault(_stem(log), rec)
        where = {*Path(" ".join(rec.get("log") or [])).parts, *Path(rec["output"]).parts}
        for d in datasets & where or {""}:
            by_rule.setdefault((d, rec["rule"]), rec.get("input") or [])
    rows = []
    data_size: dict[str, MatrixSize] = {}
    for f, b in sorted(bench.items()):
        dataset, rule, n = jobs[f]
        rec = by_log.get(_stem(f.relative_to(run)))
        inputs = (rec.get("input") or []) if rec else by_rule.get((dataset, rule), [])
        rule = rec["rule"] if rec else rule
        if dataset not in data_size:  # each dataset's header read once, not per table
            ingest = by_rule.get((dataset, "ingest"))
            files = (
                [run / p for p in ingest] if ingest else [*run.glob("*.h5ad"), *run.glob("*.h5")]
            )
            data_size[dataset] = largest_matrix(files)
        data = data_size[dataset]
        m = _job_size(run, rule, n, inputs, data)
        rule = modelled_rule(rule, m, stream_above=_stream_above(run, rule), inputs=inputs)
        rows.append([data.n_obs, rule, m.n_obs, m.n_vars, m.nnz, b["s"], b["max_rss"]])
    return pd.DataFrame(rows, columns=COLUMNS)


def _features(t: pd.DataFrame) -> np.ndarray:
    nnz = t["nnz"].to_numpy(float) / 1e6
    entries = t["n_obs"].to_numpy(float) * t["n_vars"].to_numpy(float) / 1e9
    return np.column_stack([np.ones(len(t)), nnz, entries, np.sqrt(nnz)])


def fit_terms(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Non-negative ``base, per_mnnz, per_gentries, per_sqrt_mnnz`` fitted to ``y``, raised
    to its envelope.

    Relative errors (each row divided by its measurement, weighted), a ridge of
    :data:`RIDGE` on the terms (scaled to the data), then every coefficient multiplied by
    the largest measurement/fit ratio, so that the fit is at least every measurement.

    Parameters
    ----------
    x
        Features (:func:`_features`).
    y
        Measurements (peak MB or minutes), positive.
    weights
        Each row's weight (default 1): :func:`fit` gives each size of a rule the same
        total weight, however many jobs a scattered rule ran at it.
    """
    y = np.maximum(y, 1e-3)
    w = np.sqrt(np.ones(len(y)) if weights is None else np.asarray(weights, float))
    k = x.shape[1]
    scale = np.maximum(x.max(axis=0), 1e-12) / np.median(y)  # coefficients of order 1
    a = (x / scale) / y[:, None] * w[:, None]
    penalty = np.sqrt(RIDGE) * np.eye(k)
    coef, _ = nnls(np.vstack([a, penalty]), np.concatenate([w, np.zeros(k)]))
    coef = coef / scale
    fitted = x @ coef
    if not np.all(fitted > 0):
        coef = np.zeros(k)
        coef[0] = y.max()
        fitted = x @ coef
    return coef * max(1.0, float(np.max(y / fitted)))


def _borrowed(x: np.ndarray, y: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """``shape`` (the coefficients of the rule a job was split from) scaled to the envelope
    of ``y``: how a scattered rule measured at one size grows with its part."""
    fitted = x @ shape
    if not np.all(fitted > 0):
        return fit_terms(x, y)
    return shape * float(np.max(np.maximum(y, 1e-3) / fitted))


def _one_size(t: pd.DataFrame) -> bool:
    """The rule's parts all have about one size (less than 2× between them)."""
    nnz = t["nnz"].to_numpy(float)
    return bool(nnz.max() < 2 * max(nnz.min(), 1.0))


def fit(table: pd.DataFrame) -> list[Cost]:
    """A :class:`~tmesig.resources_model.Cost` per rule of ``table`` (see :func:`fit_terms`).

    A scattered job's rule whose parts all have about one size (measured in one big run)
    takes the shape of the rule it was split from (:data:`SPLIT_FROM`), raised to its own
    measurements; each size of a rule weighs the same in the fit.
    """
    fitted: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    groups = dict(tuple(table.groupby("rule", sort=True)))
    order = sorted(groups, key=lambda r: (r in SPLIT_FROM, r))  # the rules split from first
    for rule in order:
        t = groups[rule]
        x = _features(t)
        mem_y, min_y = t["max_rss"].to_numpy(float), t["s"].to_numpy(float) / 60
        parent = fitted.get(SPLIT_FROM.get(str(rule), ""))
        if parent is not None and _one_size(t):
            fitted[rule] = (_borrowed(x, mem_y, parent[0]), _borrowed(x, min_y, parent[1]))
            continue
        w = 1.0 / t.groupby("size")["size"].transform("size").to_numpy(float)
        fitted[rule] = (fit_terms(x, mem_y, w), fit_terms(x, min_y, w))
    return [_cost(str(rule), *fitted[rule]) for rule in sorted(fitted)]


def _cost(rule: str, mem: np.ndarray, minutes: np.ndarray) -> Cost:
    mem, minutes = np.round(mem, 3), np.round(minutes, 4)
    return Cost(
        rule,
        mem_base_mb=mem[0],
        mem_per_mnnz=mem[1],
        mem_per_gentries=mem[2],
        min_base=minutes[0],
        min_per_mnnz=minutes[1],
        min_per_gentries=minutes[2],
        mem_per_sqrt_mnnz=mem[3],
        min_per_sqrt_mnnz=minutes[3],
    )


def write_costs(costs: list[Cost], path: Path, *, sources: str) -> None:
    """Write the coefficient table the workflow reads (``rule`` + the :class:`Cost` fields)."""
    frame = pd.DataFrame([c.__dict__ for c in costs])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(
            "# Resource model of every rule (tmesig.resources_model), fitted by "
            f"benchmarks/fit_resources.py to {sources}.\n"
            "# value = base + per_mnnz x non-zeros/1e6 + per_gentries x cells x genes/1e9 "
            "+ per_sqrt_mnnz x sqrt(non-zeros/1e6) (mem: MB, min: minutes) of the rule's "
            "largest input matrix (a scattered job: its share).\n"
        )
        frame.to_csv(handle, sep="\t", index=False)


def report(table: pd.DataFrame, costs: list[Cost]) -> pd.DataFrame:
    """Each measurement beside its request: ``mem_ratio`` = request / peak, ``time_ratio``."""
    by_rule = {c.rule: c for c in costs}
    rows = []
    for r in table.itertuples():
        size = MatrixSize(int(r.n_obs), int(r.n_vars), int(r.nnz))
        req = request(r.rule, size, costs=by_rule)
        rows.append([r.size, r.rule, r.max_rss, req.mem_mb, r.s / 60, req.runtime])
    out = pd.DataFrame(rows, columns=["size", "rule", "peak_mb", "mem_mb", "wall_min", "runtime"])
    out["mem_ratio"] = (out["mem_mb"] / out["peak_mb"]).round(2)
    out["time_ratio"] = (out["runtime"] / out["wall_min"]).round(1)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run directories (one per size)")
    parser.add_argument("--table", type=Path, help=f"a TSV of figures ({', '.join(COLUMNS)})")
    parser.add_argument("--measurements", type=Path, default=MEASUREMENTS)
    parser.add_argument("--costs", type=Path, default=COSTS_TABLE)
    args = parser.parse_args(argv)
    parts = [read_run(r) for r in args.runs]
    if args.table:
        given = pd.read_csv(args.table, sep="\t", comment="#")[COLUMNS]
        given["rule"] = [_numbered(str(r))[0] for r in given["rule"]]
        parts.append(given)
    if not parts:
        parser.error("give run directories or --table")
    table = pd.concat(parts).sort_values(["rule", "size"]).reset_index(drop=True)
    args.measurements.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.measurements, sep="\t", index=False)
    costs = fit(table)
    sizes = ", ".join(f"{n:,}" for n in sorted(table["size"].unique()))
    write_costs(costs, args.costs, sources=f"whole-pipeline runs at {sizes} cells")
    print(report(table, costs).to_string(index=False))
    print(f"wrote {args.measurements} and {args.costs}")


if __name__ == "__main__":
    main()
