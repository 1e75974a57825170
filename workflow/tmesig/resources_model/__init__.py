"""Resource requests of each rule (``mem_mb``, ``runtime``) that a cluster accepts.

A cluster refuses or leaves pending a job that asks for far more than it needs, and kills
one that asks for less. Each rule's request is a model of its real cost in the stored values
(non-zeros), their square root (stages that stream the matrix) and cells × genes of its
largest input matrix (a scattered job: its share of it), read from the file's header
without loading it (:func:`largest_matrix`: h5ad CSR/CSC/dense, 10x ``.h5``, MatrixMarket
files and 10x directories, estimated for dense text and unreadable files), plus a fixed
part. The coefficients of every rule are in one table, ``resources/compute/rule_costs.tsv``
(:data:`COSTS_TABLE`), fitted to Snakemake's benchmark files of whole-pipeline runs at
several sizes; the measurements are kept in ``benchmarks/data/resources/measurements.tsv``
and ``tests/unit/test_resources_model.py`` checks every request against them (between 1× and
2× the measured peak at 100,000 cells, 1× and 2.5× at every size, wall time at least the
measured one). A retried job asks for more at each attempt (:func:`request`), so
``--retries 2`` recovers a job killed for memory or time.

Refit after a change of the pipeline (one command; run directories as left by
``benchmarks/bench_scale.py`` or any snakemake run, at several sizes)::

    python benchmarks/fit_resources.py RUN_DIR [RUN_DIR ...]
    python benchmarks/fit_resources.py --table scale_figures.tsv   # or a table of figures

The first form reads every ``*.benchmark.tsv`` (or ``benchmarks/*.tsv``) under each run
directory and each rule's input matrices from Snakemake's records; both write the
measurements and the coefficient table, then print each rule's request against its peak.
"""

from ._costs import (
    ATTEMPT_STEP,
    COSTS_TABLE,
    JOINS,
    MEM_HEADROOM,
    MIN_MEM_MB,
    MIN_RUNTIME,
    SPLIT_FROM,
    STREAMED,
    TIME_HEADROOM,
    Cost,
    Request,
    block_share,
    job_share,
    load_costs,
    mem_mb,
    modelled_rule,
    request,
    request_for,
    runtime,
)
from ._size import EMPTY, MatrixSize, largest_matrix, matrix_size

__all__ = [
    "ATTEMPT_STEP",
    "COSTS_TABLE",
    "JOINS",
    "MEM_HEADROOM",
    "MIN_MEM_MB",
    "MIN_RUNTIME",
    "SPLIT_FROM",
    "STREAMED",
    "TIME_HEADROOM",
    "EMPTY",
    "Cost",
    "MatrixSize",
    "Request",
    "block_share",
    "job_share",
    "largest_matrix",
    "load_costs",
    "matrix_size",
    "mem_mb",
    "modelled_rule",
    "request",
    "request_for",
    "runtime",
]
