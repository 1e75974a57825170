"""Quality control: per-sample adaptive thresholds and doublet removal, as tables.

Thresholds follow the usual median ± k·MAD rule, computed separately in each sample on
``log1p(total counts)``, ``log1p(genes detected)`` (both sides) and on the percentage of
mitochondrial counts (upper side only); the median and MAD are taken on the sample's cells
above the ``min_genes`` floor and below ``max_pct_mito`` (empty droplets and dead cells
dominating a sample would otherwise set bounds that remove its real cells). Doublets are
called with scanpy's scrublet, one sample at a time. A rule whose MAD is (near) 0 in a
sample is not applied there (a threshold at ``median ± k·0`` would cut cells by float
rounding), and the summary says so.

The input mode (:mod:`tmesig.input_mode`) changes what is measured: ``normalised`` input has
no counts, so only genes detected and the mitochondrial share (of ``expm1`` of the values)
are used and doublets are not screened; ``panel`` input scales the ``min_genes`` floor to the
panel's size, applies the count and gene rules on their lower side only (a cell's share of
a few hundred chosen genes says more about its type than about doublets) and, unless
``panel_doublets``, does not screen doublets either.

At scale: :func:`qc_tables` reads a backed AnnData a chunk of cells at a time for the
metrics and one sample at a time for scrublet; the pipeline writes only the tables
(``qc_metrics.tsv`` with ``kept``, ``qc_summary.tsv`` with ``input_mode``), and the cluster
stage applies them (:func:`apply_qc` or :func:`kept_genes`, :func:`read_input_mode`). From
``scatter.min_cells`` cells on, the pipeline screens doublets in separate jobs of samples
(:func:`doublet_plan`, :func:`screen_job`) and QC joins them (:func:`gather_doublets`): the
same tables as one job.
"""

from ._doublets import PARALLEL_MIN_CELLS, screen_doublets, screen_samples, split_rows
from ._metrics import count_rows, iter_count_blocks, qc_metrics
from ._options import QcOptions
from ._run import (
    QC_OBS_COLUMNS,
    apply_qc,
    kept_genes,
    qc_input_mode,
    qc_tables,
    read_input_mode,
    run_qc,
)
from ._scatter import (
    doublet_parts,
    doublet_plan,
    gather_doublets,
    gather_inputs,
    read_doublet_plan,
    screen_job,
)
from ._thresholds import MIN_MAD, REASONS, mad_bounds

__all__ = [
    "MIN_MAD",
    "PARALLEL_MIN_CELLS",
    "QC_OBS_COLUMNS",
    "REASONS",
    "QcOptions",
    "apply_qc",
    "count_rows",
    "doublet_parts",
    "doublet_plan",
    "gather_doublets",
    "gather_inputs",
    "iter_count_blocks",
    "kept_genes",
    "mad_bounds",
    "qc_input_mode",
    "qc_metrics",
    "qc_tables",
    "read_doublet_plan",
    "read_input_mode",
    "run_qc",
    "screen_doublets",
    "screen_job",
    "screen_samples",
    "split_rows",
]
