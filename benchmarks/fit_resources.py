"""Fit each rule's memory and time model to the benchmark files of whole-pipeline runs.

Reads, for every run directory given (a Snakemake working directory after a run of the
pipeline, e.g. one size of ``benchmarks/bench_scale.py``), every rule's benchmark table
(``*.benchmark.tsv``, or ``benchmarks/<rule>.tsv``): wall seconds ``s`` and peak resident
memory ``max_rss`` (MB); and the size of the rule's largest input matrix
(:func:`tmesig.resources_model.largest_matrix` on the inputs Snakemake recorded for the job
in ``.snakemake/metadata``; an input deleted since, such as a ``temp()`` matrix, counts as
the dataset's own matrix). Or reads those figures from a table (``--table``, columns
``size, rule, n_obs, n_vars, nnz, s, max_rss``).

Then, per rule, fits ``value = base + a × nnz/1e6 + b × cells×genes/1e9`` to the peak memory
and to the wall time (non-negative least squares on relative errors, a small ridge so that
collinear terms share the load), raises the fit to the upper envelope of the
measurements, and writes:

- ``benchmarks/data/resources/measurements.tsv``: the figures fitted to (what
  ``tests/unit/test_resources_model.py`` checks the model against);
- ``resources/compute/rule_costs.tsv``: the coefficients the workflow uses.

It prints every rule's request (:func:`tmesig.resources_model.request`) against its peak
at each size. One command, e.g. after ``benchmarks/bench_scale.py --workdir W``::

    python benchmarks/fit_resources.py W/10000 W/100000
"""

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from tmesig.resources_model import (  # noqa: E402
    COSTS_TABLE,
    Cost,
    MatrixSize,
    largest_matrix,
    request,
)

MEASUREMENTS = REPO / "benchmarks" / "data" / "resources" / "measurements.tsv"
COLUMNS = ["size", "rule", "n_obs", "n_vars", "nnz", "s", "max_rss"]
#: Ridge on the terms, relative to the data's scale: collinear terms share the load, and a
#: rule measured at one size only still grows with the matrix instead of being constant.
RIDGE = 1e-2


def _benchmarks(run: Path) -> dict[tuple[str, str], pd.Series]:
    """(dataset, rule) → the benchmark row with the largest peak of the run directory."""
    out = {}
    files = [*run.rglob("*.benchmark.tsv"), *run.rglob("benchmarks/*.tsv")]
    for f in sorted(set(files)):
        if ".snakemake" in f.parts:
            continue
        rule = f.name.removesuffix(".tsv").removesuffix(".benchmark").split(".")[0]
        parent = f.parent.parent if f.parent.name == "benchmarks" else f.parent
        table = pd.read_csv(f, sep="\t")
        out[(parent.name, rule)] = table.loc[table["max_rss"].idxmax()]
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


def _input_size(run: Path, inputs: list[str], dataset_size: MatrixSize) -> MatrixSize:
    paths = [Path(p) if Path(p).is_absolute() else run / p for p in inputs]
    gone = [p for p in paths if not p.exists() and p.name.endswith((".h5ad", ".h5", ".mtx.gz"))]
    size = largest_matrix(paths)
    return dataset_size if gone and dataset_size.nnz > size.nnz else size


def read_run(run: Path) -> pd.DataFrame:
    """The figures of one run directory: one row per (dataset, rule) with a benchmark table."""
    bench = _benchmarks(run)
    records = _records(run)
    datasets = {d for d, _ in bench}
    sizes: dict[tuple[str, str], list[str]] = {}
    for rec in records:
        where = {*Path(" ".join(rec.get("log") or [])).parts, *Path(rec["output"]).parts}
        for d in datasets & where or {""}:
            sizes.setdefault((d, rec["rule"]), rec.get("input") or [])
    rows = []
    for (dataset, rule), b in sorted(bench.items()):
        ingest = sizes.get((dataset, "ingest"))
        data = largest_matrix(
            [run / p for p in ingest] if ingest else [*run.glob("*.h5ad"), *run.glob("*.h5")]
        )
        m = _input_size(run, sizes.get((dataset, rule), []), data)
        rows.append([data.n_obs, rule, m.n_obs, m.n_vars, m.nnz, b["s"], b["max_rss"]])
    return pd.DataFrame(rows, columns=COLUMNS)


def _features(t: pd.DataFrame) -> np.ndarray:
    nnz = t["nnz"].to_numpy(float) / 1e6
    entries = t["n_obs"].to_numpy(float) * t["n_vars"].to_numpy(float) / 1e9
    return np.column_stack([np.ones(len(t)), nnz, entries])


def fit_terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative ``base, per_mnnz, per_gentries`` fitted to ``y``, raised to its envelope.

    Relative errors (each row divided by its measurement), a ridge of :data:`RIDGE` on the
    three terms (scaled to the data), then every coefficient multiplied by the largest
    measurement/fit ratio, so that the fit is at least every measurement.

    Parameters
    ----------
    x
        Features (:func:`_features`).
    y
        Measurements (peak MB or minutes), positive.
    """
    y = np.maximum(y, 1e-3)
    scale = np.maximum(x.max(axis=0), 1e-12) / np.median(y)  # coefficients of order 1
    a = (x / scale) / y[:, None]
    b = np.ones(len(y))
    penalty = np.sqrt(RIDGE) * np.eye(3)
    coef, _ = nnls(np.vstack([a, penalty]), np.concatenate([b, np.zeros(3)]))
    coef = coef / scale
    fitted = x @ coef
    if not np.all(fitted > 0):
        coef = np.array([y.max(), 0.0, 0.0])
        fitted = x @ coef
    return coef * max(1.0, float(np.max(y / fitted)))


def fit(table: pd.DataFrame) -> list[Cost]:
    """A :class:`~tmesig.resources_model.Cost` per rule of ``table`` (see :func:`fit_terms`)."""
    costs = []
    for rule, t in table.groupby("rule", sort=True):
        x = _features(t)
        mem = fit_terms(x, t["max_rss"].to_numpy(float))
        minutes = fit_terms(x, t["s"].to_numpy(float) / 60)
        costs.append(Cost(str(rule), *np.round(mem, 3), *np.round(minutes, 4)))
    return costs


def write_costs(costs: list[Cost], path: Path, *, sources: str) -> None:
    """Write the coefficient table the workflow reads (``rule`` + the :class:`Cost` fields)."""
    frame = pd.DataFrame([c.__dict__ for c in costs])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(
            "# Resource model of every rule (tmesig.resources_model), fitted by "
            f"benchmarks/fit_resources.py to {sources}.\n"
            "# value = base + per_mnnz x non-zeros/1e6 + per_gentries x cells x genes/1e9 "
            "(mem: MB, min: minutes) of the rule's largest input matrix.\n"
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
        parts.append(pd.read_csv(args.table, sep="\t", comment="#")[COLUMNS])
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
