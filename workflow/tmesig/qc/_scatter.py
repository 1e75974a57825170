"""Doublet screening split into jobs (scatter) and joined back (gather) for large datasets.

Scrublet runs on independent parts: one sample, or a random part of a sample above
:attr:`QcOptions.doublet_max_cells` (:func:`tmesig.qc.split_rows`, deterministic from the
seed). A part's scores depend on its own cells and the seed only, and scrublet always runs
on one thread, so a part screened in a job of its own gives the numbers the unsplit QC
computes, bit for bit. :func:`doublet_plan` lists the parts and packs them into jobs of at
most ``scatter.chunk_cells`` cells (a part larger than that is a job alone);
:func:`screen_job` screens one job's parts; :func:`gather_doublets` orders every job's
table back into the parts' order, which :func:`tmesig.qc.qc_tables` (``doublets=``) uses
instead of screening. The plan is empty (QC screens in its own job) below
``scatter.min_cells`` cells or when doublets are not screened in the run's input mode.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from ..io.errors import InputError
from ..score import ScatterOptions
from ._doublets import parts_of, run_parts
from ._options import QcOptions

__all__ = [
    "DoneParts",
    "doublet_parts",
    "doublet_plan",
    "gather_doublets",
    "gather_inputs",
    "read_doublet_plan",
    "screen_job",
]

#: Columns of the plan table (one row per screened part).
PLAN_COLUMNS = ("job", "part", "sample", "n_cells")
#: Columns of a job's table (index ``cell``).
PART_COLUMNS = ("part", "doublet_score", "predicted_doublet", "threshold")
#: Screened parts in plan order: ``(cell names, scores, calls, threshold)`` each.
DoneParts = list[tuple[pd.Index, np.ndarray, np.ndarray, float]]


def doublet_parts(samples: Any, *, options: QcOptions) -> list[tuple[str, np.ndarray]]:
    """Every part scrublet screens, in the order :func:`tmesig.qc.qc_tables` screens them.

    Parameters
    ----------
    samples
        Each cell's sample (the ``sample_key`` column of the ingested cells, in order).
    options
        ``min_cells_doublets``, ``doublet_max_cells`` and ``seed``.

    Returns
    -------
    list of tuple
        ``(sample, sorted cell positions)``; samples in sorted order, a sample below
        ``min_cells_doublets`` has none.
    """
    m = pd.DataFrame({"sample": np.asarray(samples).astype(str)})
    return [
        (sample, rows)
        for sample in sorted(set(m["sample"]))
        for rows in parts_of(m, {"sample": sample}, options)
    ]


def doublet_plan(
    samples: Any, *, options: QcOptions, scatter: ScatterOptions | None = None
) -> pd.DataFrame:
    """The parts and the job that screens each (none when QC screens them itself).

    Parameters
    ----------
    samples
        Each ingested cell's sample, in order.
    options
        QC options of the run, with its resolved ``input_mode``.
    scatter
        Split from ``min_cells`` cells on, jobs of at most ``chunk_cells`` cells.

    Returns
    -------
    DataFrame
        ``job``, ``part`` (0, 1, ... in screening order), ``sample``, ``n_cells``; no rows
        below ``scatter.min_cells`` cells or when doublets are not screened.
    """
    opts = scatter if scatter is not None else ScatterOptions()
    empty = pd.DataFrame({c: pd.Series(dtype="int64") for c in PLAN_COLUMNS})
    empty["sample"] = empty["sample"].astype(object)
    if len(samples) < opts.min_cells or options.doublet_skip_reason() is not None:
        return empty
    parts = doublet_parts(samples, options=options)
    jobs, job, filled, block = [], 0, 0, opts.block(len(samples))
    for _, rows in parts:
        if filled and filled + len(rows) > block:
            job, filled = job + 1, 0
        jobs.append(job)
        filled += len(rows)
    if not parts:
        return empty
    return pd.DataFrame(
        {
            "job": jobs,
            "part": np.arange(len(parts)),
            "sample": [s for s, _ in parts],
            "n_cells": [len(r) for _, r in parts],
        }
    )


def read_doublet_plan(path: str | Path) -> pd.DataFrame:
    """A plan written by ``doublet_plan(...).to_csv(path, sep="\\t", index=False)``.

    Parameters
    ----------
    path
        The plan table.
    """
    plan = pd.read_csv(path, sep="\t", dtype={"sample": str})
    if tuple(plan.columns) != PLAN_COLUMNS:
        msg = f"{path}: not a QC doublet plan (columns {list(plan.columns)}); rerun qc_plan."
        raise InputError(msg)
    return plan


def _check_plan(plan: pd.DataFrame, parts: list[tuple[str, np.ndarray]], where: str) -> None:
    """The plan lists exactly these parts (else it is stale)."""
    found = [(s, len(r)) for s, r in parts]
    listed = list(zip(plan["sample"].astype(str), plan["n_cells"].astype(int), strict=True))
    if found != listed:
        msg = (
            f"{where}: the doublet plan does not match the ingested cells "
            "(written for another input or QC config); delete it and rerun."
        )
        raise InputError(msg)


def screen_job(
    adata: ad.AnnData, plan: pd.DataFrame, job: int, *, options: QcOptions, where: str = "plan"
) -> pd.DataFrame:
    """Scrublet on the parts of one job of the plan.

    Parameters
    ----------
    adata
        The ingested cells (backed: only the job's rows are read).
    plan
        :func:`doublet_plan`'s table.
    job
        The job's number.
    options
        The run's QC options (``n_jobs`` worker processes for the parts).
    where
        The plan's file, for messages.

    Returns
    -------
    DataFrame
        Index ``cell``; ``part``, ``doublet_score``, ``predicted_doublet``, ``threshold``
        (the part's automatic threshold), the job's parts in order.
    """
    mine = plan.loc[plan["job"] == int(job), "part"].to_numpy()
    if len(mine) == 0:
        msg = f"{where}: no job {job} in the doublet plan; delete it and rerun."
        raise InputError(msg)
    parts = doublet_parts(adata.obs[options.sample_key], options=options)
    _check_plan(plan, parts, where)
    chosen = [parts[int(p)][1] for p in mine]
    results = run_parts(adata, adata.obs_names, chosen, options)
    frames = []
    for part, rows, (score, pred, threshold) in zip(mine, chosen, results, strict=True):
        frame = pd.DataFrame(
            {"part": int(part), "doublet_score": np.asarray(score, dtype=np.float64)},
            index=pd.Index(adata.obs_names[rows], name="cell"),
        )
        frame["predicted_doublet"] = np.asarray(pred, dtype=bool)
        frame["threshold"] = float(threshold)
        frames.append(frame)
    return pd.concat(frames)


def gather_doublets(tables: Sequence[pd.DataFrame], *, plan: pd.DataFrame) -> DoneParts:
    """Every job's table joined into the parts' order, for ``qc_tables(doublets=...)``.

    Parameters
    ----------
    tables
        :func:`screen_job`'s tables, one per job (any order).
    plan
        The plan they were screened from.

    Returns
    -------
    list of tuple
        Per part in plan order: cell names, scores, calls, threshold.
    """
    joined = pd.concat(tables) if tables else pd.DataFrame(columns=list(PART_COLUMNS))
    groups = dict(tuple(joined.groupby("part", sort=True)))
    done: DoneParts = []
    for part, n_cells in zip(plan["part"], plan["n_cells"], strict=True):
        got = groups.get(int(part))
        if got is None or len(got) != int(n_cells):
            msg = f"QC doublets: part {part} of the plan is missing or incomplete; rerun QC."
            raise InputError(msg)
        done.append(
            (
                got.index,
                got["doublet_score"].to_numpy(dtype=np.float64),
                got["predicted_doublet"].to_numpy(dtype=bool),
                float(got["threshold"].iloc[0]),
            )
        )
    return done


def gather_inputs(plan: str, *, paths: Any, dataset: str) -> dict[str, Any]:
    """Rule ``qc``'s inputs once checkpoint ``qc_plan`` has written ``plan``.

    Parameters
    ----------
    plan
        The dataset's doublet plan (:func:`doublet_plan`).
    paths
        The run's :class:`tmesig.workflow_paths.WorkflowPaths`.
    dataset
        The dataset id.

    Returns
    -------
    dict
        ``h5ad`` (the ingested cells) and, for a plan with parts, ``plan`` and every job's
        table (``doublets``).
    """
    inputs: dict[str, Any] = {"h5ad": paths.ingested.format(dataset=dataset)}
    jobs = sorted(set(read_doublet_plan(plan)["job"].astype(int)))
    if jobs:
        inputs["plan"] = plan
        inputs["doublets"] = [paths.qc_doublets.format(dataset=dataset, job=j) for j in jobs]
    return inputs
