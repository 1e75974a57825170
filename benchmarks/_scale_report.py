"""bench_scale: per-rule figures, requests against peaks, sketch agreement, target lines."""

import math

import numpy as np
import pandas as pd

#: Goals of issue 14's benchmark table.
GOAL_WALL_RATIO = 1.0  # tmesig / notebook at 100,000 cells
GOAL_PEAK_100K_GB = 6.0
GOAL_PEAK_1M_GB = 20.0
GOAL_GROWTH = 11.0  # wall(1M) / wall(100k)
GOAL_DISK = 1.5  # intermediate h5ad / input file
GOAL_LINEAGE = 0.95
GOAL_STATE = 0.90
GOAL_RECALL = 0.9
RARE_SHARE = 0.01

RULE_COLUMNS = [
    "size", "rule", "n_obs", "n_vars", "nnz", "matrix", "s", "max_rss",
    "mem_mb_request", "runtime_request", "threads", "mem_request_ratio",
]  # fmt: skip


def rule_rows(size: int, bench: pd.DataFrame, jobs: dict, inputs: dict) -> list[dict]:
    """One row per rule: its largest input matrix, wall s, peak MB and what it requested.

    Parameters
    ----------
    size
        Cells of the dataset (the benchmark's size label).
    bench
        :func:`_scale_pipeline.read_benchmarks` (index ``rule``: ``s``, ``max_rss``).
    jobs
        :func:`_scale_pipeline.parse_jobs`: rule -> ``resources``, ``threads``.
    inputs
        Rule -> header of its largest ``.h5ad`` input (``n_obs``, ``n_vars``, ``nnz``,
        ``matrix``) or None.

    Returns
    -------
    list of dict
        Keys :data:`RULE_COLUMNS`; ``mem_request_ratio`` = requested ``mem_mb`` / ``max_rss``.
    """
    rows = []
    for rule, rec in bench.iterrows():
        job = jobs.get(rule, {})
        res = job.get("resources", {})
        head = inputs.get(rule) or {}
        mem = res.get("mem_mb")
        peak = rec["max_rss"]
        ok = isinstance(mem, int) and peak is not None and not math.isnan(peak) and peak > 0
        rows.append(
            {
                "size": int(size),
                "rule": rule,
                "n_obs": head.get("n_obs"),
                "n_vars": head.get("n_vars"),
                "nnz": head.get("nnz"),
                "matrix": head.get("matrix", ""),
                "s": rec["s"],
                "max_rss": peak,
                "mem_mb_request": mem if isinstance(mem, int) else None,
                "runtime_request": res.get("runtime") if "runtime" in res else None,
                "threads": job.get("threads"),
                "mem_request_ratio": mem / peak if ok else None,
            }
        )
    return rows


def agreement(full: pd.DataFrame, sketch: pd.DataFrame, *, rare_share: float = RARE_SHARE):
    """Sketch-run labels against full-data labels (``annotation.tsv`` of each run).

    Parameters
    ----------
    full, sketch
        Per-cell tables with ``compartment`` (lineage) and ``state``, indexed by cell.
    rare_share
        A label is rare when the full run gives it to fewer than this share of cells
        (``unassigned`` never counts as a compartment).

    Returns
    -------
    dict
        ``lineage``, ``state`` (share of common cells with the same label), ``n_cells``
        and ``rare``: ``{"<level>:<label>": {"n": cells in the full run, "recall": share
        of them with the same label in the sketch run}}``.
    """
    common = full.index.intersection(sketch.index)
    a, b = full.loc[common], sketch.loc[common]
    out = {"n_cells": len(common), "rare": {}}
    for level, col in (("lineage", "compartment"), ("state", "state")):
        x, y = a[col].astype(str).to_numpy(), b[col].astype(str).to_numpy()
        out[level] = float(np.mean(x == y)) if len(common) else float("nan")
        counts = pd.Series(x).value_counts()
        for label, n in counts.items():
            if label != "unassigned" and n < rare_share * len(common):
                hit = (x == label) & (y == label)
                out["rare"][f"{level}:{label}"] = {"n": int(n), "recall": float(hit.sum() / n)}
    return out


def truth_recall(truth: pd.Series, calls: pd.DataFrame, expected: dict) -> dict:
    """Recall of planted cell types: share of their cells given the expected label.

    Parameters
    ----------
    truth
        Simulated ``cell_type`` per cell.
    calls
        A run's ``annotation.tsv`` (``compartment``, ``state``), indexed by cell.
    expected
        Cell type -> ``(column, label)``, e.g. ``{"mast": ("compartment", "mast")}``.
    """
    out = {}
    common = truth.index.intersection(calls.index)
    for kind, (col, label) in expected.items():
        cells = common[truth.loc[common].astype(str).to_numpy() == kind]
        n = len(cells)
        hit = (calls.loc[cells, col].astype(str) == label).sum() if n else 0
        recall = float(hit / n) if n else None
        out[kind] = {"n": int(n), "label": f"{col}={label}", "recall": recall}
    return out


def target_line(name: str, value, goal: str, ok: bool | None, note: str = "") -> str:
    """``target NAME: VALUE (goal GOAL) PASS|FAIL``; ``ok`` None: not measured (SKIPPED).

    Parameters
    ----------
    name, value, goal
        The target, its measured value (already formatted) and its goal.
    ok
        Whether the goal is met; None when it was not measured.
    note
        Why it was not measured (with ``ok`` None).
    """
    if ok is None:
        return f"target {name}: not measured (goal {goal}) SKIPPED{' - ' + note if note else ''}"
    return f"target {name}: {value} (goal {goal}) {'PASS' if ok else 'FAIL'}"


def _peak_gb(fig: dict) -> float | None:
    peaks = [r["max_rss"] for r in fig.get("rules", []) if r["max_rss"] is not None]
    peaks = [p for p in peaks if not math.isnan(p)]
    return max(peaks) / 1000.0 if peaks else None


def targets(figs: dict) -> list[str]:
    """The issue's target lines from the figures of every size (keys: cell counts).

    Parameters
    ----------
    figs
        Size -> figures (``pipeline``, ``rules``, ``notebook``, ``sketch``, ``input_bytes``).
    """
    lines = []
    f100, f1m = figs.get(100_000), figs.get(1_000_000)
    why100 = "100,000 cells not run (--sizes)"
    ok100 = f100 is not None and f100["pipeline"]["returncode"] == 0
    nb = (f100 or {}).get("notebook") or {}
    if ok100 and "peak_mb" in nb:
        r = f100["pipeline"]["wall_s"] / nb["wall_s"]
        lines.append(target_line("wall_100k_vs_notebook", f"{r:.2f}x", "<= 1.0x", r <= 1.0))
    else:
        lines.append(target_line("wall_100k_vs_notebook", None, "<= 1.0x", None, why100))
    peak = _peak_gb(f100) if ok100 else None
    lines.append(
        target_line("peak_100k", f"{peak:.2f} GB", "<= 6 GB", peak <= GOAL_PEAK_100K_GB)
        if peak is not None
        else target_line("peak_100k", None, "<= 6 GB", None, why100)
    )
    lines += _million(f100, f1m)
    lines += _disk(figs)
    lines += _sketch(f100)
    lines += _requests(f100)
    lines += _truth(figs)
    return lines


def _truth(figs: dict) -> list[str]:
    """Recall of each planted rare cell type in the full run (and the sketch run) per size."""
    lines = []
    for size in sorted(figs):
        runs = [("full", figs[size].get("truth_recall_full"))]
        runs.append(("sketch", ((figs[size].get("sketch") or {}).get("truth_recall"))))
        for run, rec in runs:
            for kind, r in sorted((rec or {}).items()):
                name = f"rare_truth_recall_{run}_{size}[{kind}]"
                if r["recall"] is None:
                    lines.append(target_line(name, None, ">= 0.9", None, "no such cells"))
                    continue
                value = f"{r['recall']:.3f} of {r['n']} ({r['label']})"
                lines.append(target_line(name, value, ">= 0.9", r["recall"] >= GOAL_RECALL))
    return lines


def _million(f100: dict | None, f1m: dict | None) -> list[str]:
    why = "1,000,000 cells not run (--full)"
    if f1m is None:
        return [
            target_line("completes_1m", None, "completes", None, why),
            target_line("peak_1m", None, "<= 20 GB", None, why),
            target_line("growth_100k_to_1m", None, "<= 11", None, why),
        ]
    ok = f1m["pipeline"]["returncode"] == 0
    lines = [target_line("completes_1m", "yes" if ok else "no", "completes", ok)]
    peak = _peak_gb(f1m) if ok else None
    if peak is None:
        lines.append(target_line("peak_1m", None, "<= 20 GB", None, "run failed"))
    else:
        lines.append(target_line("peak_1m", f"{peak:.2f} GB", "<= 20 GB", peak <= 20.0))
    if ok and f100 is not None and f100["pipeline"]["returncode"] == 0:
        g = f1m["pipeline"]["wall_s"] / f100["pipeline"]["wall_s"]
        lines.append(target_line("growth_100k_to_1m", f"{g:.2f}", "<= 11", g <= GOAL_GROWTH))
    else:
        lines.append(target_line("growth_100k_to_1m", None, "<= 11", None, "a run failed"))
    return lines


def _disk(figs: dict) -> list[str]:
    lines = []
    for size in sorted(figs):
        p = figs[size]["pipeline"]
        for kind in ("end", "peak"):
            r = p[f"{kind}_h5ad_bytes"] / figs[size]["input_bytes"]
            name = f"intermediates_{kind}_{size}"
            lines.append(target_line(name, f"{r:.2f}x input", "<= 1.5x", r <= GOAL_DISK))
    return lines


def _sketch(f100: dict | None) -> list[str]:
    names = [
        ("sketch_lineage_agreement_100k", ">= 0.95"),
        ("sketch_state_agreement_100k", ">= 0.90"),
    ]
    sk = (f100 or {}).get("sketch") or {}
    if "lineage" not in sk:
        note = sk.get("skipped", "100,000 cells not run (--sizes)")
        return [target_line(n, None, g, None, note) for n, g in names] + [
            target_line("sketch_rare_recall_100k", None, ">= 0.9", None, note)
        ]
    lines = [
        target_line(name, f"{sk[key]:.3f}", goal, sk[key] >= bound)
        for (name, goal), key, bound in zip(
            names, ("lineage", "state"), (GOAL_LINEAGE, GOAL_STATE), strict=True
        )
    ]
    for label, rec in sorted(sk["rare"].items()):
        ok = rec["recall"] >= GOAL_RECALL
        value = f"{rec['recall']:.3f} of {rec['n']}"
        lines.append(target_line(f"sketch_rare_recall_100k[{label}]", value, ">= 0.9", ok))
    if not sk["rare"]:
        lines.append(target_line("sketch_rare_recall_100k", None, ">= 0.9", None, "no rare label"))
    return lines


def _requests(f100: dict | None) -> list[str]:
    name, goal = "mem_requests_within_1x_2x_peak_100k", "every rule"
    if f100 is None:
        return [target_line(name, None, goal, None, "100,000 cells not run (--sizes)")]
    ratios = [r["mem_request_ratio"] for r in f100["rules"] if r["mem_request_ratio"] is not None]
    if not ratios:
        return [target_line(name, None, goal, None, "no request/peak pairs")]
    inside = sum(1.0 <= r <= 2.0 for r in ratios)
    value = f"{inside}/{len(ratios)} rules (ratios {min(ratios):.2f}-{max(ratios):.2f})"
    return [target_line(name, value, goal, inside == len(ratios))]


def rule_table(rows: list[dict]) -> str:
    """Printable per-rule table (slowest first) with totals.

    Parameters
    ----------
    rows
        :func:`rule_rows` of one size.
    """
    df = pd.DataFrame(rows, columns=RULE_COLUMNS).sort_values("s", ascending=False)
    for col in ("mem_mb_request", "threads", "n_obs", "nnz"):
        df[col] = df[col].astype("Int64")
    cols = ["rule", "s", "max_rss", "mem_mb_request", "mem_request_ratio", "threads"]
    cols += ["n_obs", "nnz"]
    text = df[cols].to_string(index=False, float_format=lambda v: f"{v:,.1f}", na_rep="-")
    total, peak = df["s"].sum(), df["max_rss"].max()
    return f"{text}\nsum of rule wall s: {total:,.1f}; peak over rules: {peak:,.0f} MB"
