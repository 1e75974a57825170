"""Each rule's cost model (shipped coefficients) and the requests made from it."""

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from ..paths import RESOURCES
from ._size import MatrixSize, largest_matrix

__all__ = [
    "ATTEMPT_STEP",
    "COSTS_TABLE",
    "JOINS",
    "MEM_HEADROOM",
    "MIN_MEM_MB",
    "MIN_RUNTIME",
    "TIME_HEADROOM",
    "Cost",
    "Request",
    "SPLIT_FROM",
    "STREAMED",
    "block_share",
    "load_costs",
    "mem_mb",
    "modelled_rule",
    "request",
    "request_for",
    "runtime",
]

#: The coefficients of every rule, written by ``benchmarks/fit_resources.py``.
COSTS_TABLE = RESOURCES / "compute" / "rule_costs.tsv"
#: Memory asked above the model at the first attempt (the model is fitted to the peaks).
MEM_HEADROOM = 1.25
#: Wall time asked above the model (time varies with the node's load much more than memory).
TIME_HEADROOM = 2.0
#: Each further attempt asks this share of the first attempt's request more (2: 1.5×, 3: 2×).
ATTEMPT_STEP = 0.5
#: The rule whose coefficients a scattered job's rule uses until it is measured itself.
SPLIT_FROM = {
    "qc_doublets": "qc",
    "score_chunk": "score",
    "score_stats": "score",
    "ingest_streamed": "ingest",
    "qc_join": "qc",
    "score_join": "score",
    "cnv": "subsets",
    "subset_figures": "subsets",
    "umap": "cluster",
}
#: Rules that, when their dataset is scattered, only join their jobs' tables (a file name
#: part of those tables): a different job, with its own row ``<rule>_join``.
JOINS = {"qc": "/qc/doublets_", "score": "/score/chunk_"}
#: Rules that read their input a chunk of cells at a time above a number of cells: their
#: memory stops growing with the matrix there, so that regime has its own coefficients
#: (row ``<rule>_streamed``; :func:`modelled_rule`).
STREAMED = ("ingest",)
#: Smallest requests: an interpreter with its libraries; SLURM's usual time granularity.
MIN_MEM_MB = 256
MIN_RUNTIME = 10


@dataclass(frozen=True)
class Cost:
    """A rule's measured cost: ``base + a × mnnz + b × gentries + c × √mnnz``.

    ``mnnz`` is the stored values of the rule's largest input matrix in millions,
    ``gentries`` its cells × genes in 10⁹ (what a dense copy costs); the square-root term
    is the cost of a stage that streams the matrix and keeps only part of it (memory that
    grows slower than the matrix). One set of coefficients for the peak resident memory
    (MB), one for the wall time (minutes).

    Attributes
    ----------
    rule : str
        The Snakemake rule.
    mem_base_mb, mem_per_mnnz, mem_per_gentries : float
        Peak memory in MB: fixed part, per million stored values, per 10⁹ cells × genes.
    min_base, min_per_mnnz, min_per_gentries : float
        Wall time in minutes: the same three terms.
    mem_per_sqrt_mnnz, min_per_sqrt_mnnz : float
        Memory (MB) and wall time (minutes) per √(stored values / 10⁶); 0 in a table
        written before the term existed.
    """

    rule: str
    mem_base_mb: float
    mem_per_mnnz: float
    mem_per_gentries: float
    min_base: float
    min_per_mnnz: float
    min_per_gentries: float
    mem_per_sqrt_mnnz: float = 0.0
    min_per_sqrt_mnnz: float = 0.0

    def memory(self, size: MatrixSize) -> float:
        """Modelled peak memory in MB for ``size``.

        Parameters
        ----------
        size
            The rule's largest input matrix.
        """
        terms = (self.mem_per_mnnz, self.mem_per_gentries, self.mem_per_sqrt_mnnz)
        return self.mem_base_mb + _terms(size, *terms)

    def minutes(self, size: MatrixSize) -> float:
        """Modelled wall time in minutes for ``size``.

        Parameters
        ----------
        size
            The rule's largest input matrix.
        """
        terms = (self.min_per_mnnz, self.min_per_gentries, self.min_per_sqrt_mnnz)
        return self.min_base + _terms(size, *terms)


def _terms(size: MatrixSize, per_mnnz: float, per_gentries: float, per_sqrt: float) -> float:
    mnnz = size.nnz / 1e6
    return per_mnnz * mnnz + per_gentries * size.entries / 1e9 + per_sqrt * math.sqrt(mnnz)


@dataclass(frozen=True)
class Request:
    """What a job asks the scheduler for.

    Attributes
    ----------
    mem_mb : int
        Memory in MB (Snakemake's ``mem_mb``).
    runtime : int
        Wall time in minutes (Snakemake's ``runtime``).
    """

    mem_mb: int
    runtime: int


def load_costs(path: str | Path | None = None) -> dict[str, Cost]:
    """The cost of every rule from a coefficient table (``#`` lines are comments).

    Parameters
    ----------
    path
        A TSV with a ``rule`` column and one column per :class:`Cost` field; default
        :data:`COSTS_TABLE`.

    Returns
    -------
    dict
        Rule name → :class:`Cost`.
    """
    return dict(_load(str(path or COSTS_TABLE)))


@cache
def _load(path: str) -> tuple[tuple[str, Cost], ...]:
    names = [f.name for f in fields(Cost)][1:]
    with open(path, newline="") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        costs = [Cost(r["rule"], **{n: float(r.get(n) or 0.0) for n in names}) for r in rows]
    return tuple((c.rule, c) for c in costs)


def _cost_of(rule: str, costs: Mapping[str, Cost]) -> Cost:
    """``rule``'s coefficients; a scattered job's rule without its own row uses the rule it
    was split from (:data:`SPLIT_FROM`); any other rule without a row, :func:`_unknown`."""
    return costs.get(rule) or costs.get(SPLIT_FROM.get(rule, "")) or _unknown(costs)


def _unknown(costs: Mapping[str, Cost]) -> Cost:
    """A rule without coefficients: the largest of every coefficient (generous, never tight)."""
    names = [f.name for f in fields(Cost)][1:]
    return Cost("?", *(max(getattr(c, n) for c in costs.values()) for n in names))


def _scale(attempt: int) -> float:
    return 1.0 + ATTEMPT_STEP * max(0, int(attempt) - 1)


def request(
    rule: str, size: MatrixSize, *, attempt: int = 1, costs: Mapping[str, Cost] | None = None
) -> Request:
    """The memory and wall time ``rule`` asks for with an input matrix of ``size``.

    Parameters
    ----------
    rule
        The rule's name; a scattered job's rule without coefficients of its own gets those
        of the rule it was split from (:data:`SPLIT_FROM`), any other rule without
        coefficients the largest of every coefficient.
    size
        Its largest input matrix (:func:`largest_matrix`).
    attempt
        Snakemake's attempt (1 first): each retry asks :data:`ATTEMPT_STEP` × the first
        request more, so ``--retries`` recovers a job killed for memory or time.
    costs
        Coefficients by rule; default :func:`load_costs`.

    Returns
    -------
    Request
        Memory (MB, rounded up to 100) and minutes, never below :data:`MIN_MEM_MB` and
        :data:`MIN_RUNTIME`.
    """
    costs = load_costs() if costs is None else costs
    cost = _cost_of(rule, costs)
    k = _scale(attempt)
    mem = _up(max(MIN_MEM_MB, cost.memory(size) * MEM_HEADROOM), 100)
    minutes = _up(max(MIN_RUNTIME, cost.minutes(size) * TIME_HEADROOM), 1)
    return Request(_up(mem * k, 100), _up(minutes * k, 1))


def _up(value: float, step: int) -> int:
    """``value`` rounded up to a multiple of ``step``."""
    return int(math.ceil(value / step - 1e-9) * step)


def modelled_rule(
    rule: str,
    size: MatrixSize,
    *,
    stream_above: int | None = None,
    inputs: Iterable[str | Path] = (),
) -> str:
    """The row of the cost table that models ``rule`` on a matrix of ``size``.

    A rule of :data:`JOINS` whose inputs are its scattered jobs' tables only joins them:
    ``<rule>_join``. A rule of :data:`STREAMED` above ``stream_above`` cells (the stage then
    streams its input) is modelled by ``<rule>_streamed``; any other, by its own row.

    Parameters
    ----------
    rule
        The rule's name.
    size
        Its input matrix.
    stream_above
        The stage's streaming threshold in cells (None: it never streams).
    inputs
        Its input files.
    """
    if rule in JOINS and any(JOINS[rule] in str(f) for f in inputs):
        return f"{rule}_join"
    if rule in STREAMED and stream_above is not None and size.n_obs > stream_above:
        return f"{rule}_streamed"
    return rule


def request_for(
    rule: str,
    inputs: Iterable[str | Path],
    *,
    attempt: int = 1,
    share: float = 1.0,
    stream_above: int | None = None,
) -> Request:
    """What ``rule`` asks for with these input files (:func:`request` on the row
    :func:`modelled_rule` picks and the largest input matrix).

    Parameters
    ----------
    rule
        The rule's name.
    inputs
        Its input files (the largest matrix among them is measured).
    attempt
        Snakemake's attempt.
    share
        The share of the matrix's cells the job reads (a block of a scattered rule).
    stream_above
        Cells above which the stage streams its input (:func:`modelled_rule`).
    """
    inputs = list(inputs)
    size = largest_matrix(inputs).part(share)
    name = modelled_rule(rule, size, stream_above=stream_above, inputs=inputs)
    return request(name, size, attempt=attempt)


def mem_mb(rule: str, inputs: Iterable[str | Path], **options) -> int:
    """Snakemake ``mem_mb`` of ``rule`` (:func:`request_for`; same options).

    Parameters
    ----------
    rule
        The rule's name.
    inputs
        Its input files.
    **options
        ``attempt``, ``share``, ``stream_above`` (:func:`request_for`).
    """
    return request_for(rule, inputs, **options).mem_mb


def runtime(rule: str, inputs: Iterable[str | Path], **options) -> int:
    """Snakemake ``runtime`` in minutes: the request's time (:func:`request_for`).

    Parameters
    ----------
    rule
        As for :func:`mem_mb`.
    inputs
        As for :func:`mem_mb`.
    **options
        As for :func:`mem_mb`.
    """
    return request_for(rule, inputs, **options).runtime


def block_share(plan: str | Path, chunk: int) -> float:
    """The share of the cells that block ``chunk`` of a scoring plan holds.

    Parameters
    ----------
    plan
        The plan table (``chunk``, ``start``, ``stop``; :func:`tmesig.score.read_plan`).
    chunk
        The block's number.
    """
    from ..score import read_plan

    table = read_plan(plan)
    total = int(table["stop"].iloc[-1]) if len(table) else 0
    row = table.loc[table["chunk"] == chunk]
    if total == 0 or row.empty:
        return 1.0
    return float(row["stop"].iloc[0] - row["start"].iloc[0]) / total


def job_share(plan: str | Path, job: int) -> float:
    """The share of the cells that job ``job`` of a QC doublet plan screens.

    Parameters
    ----------
    plan
        The plan table (``job``, ``part``, ``sample``, ``n_cells``; :func:`tmesig.qc.doublet_plan`).
    job
        The job's number.
    """
    from ..qc import read_doublet_plan

    table = read_doublet_plan(plan)
    total = int(table["n_cells"].sum())
    mine = int(table.loc[table["job"] == job, "n_cells"].sum())
    return mine / total if total and mine else 1.0
