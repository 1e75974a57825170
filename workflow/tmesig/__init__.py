"""tmesig: immune-checkpoint-blockade resistance programs in tumour single-cell RNA-seq.

Each pipeline stage has one module (``ingest``, ``qc``, ``cluster``, ``annotate``,
``signatures``, ``score``, ``flag``, ``report``); every function is usable from a
notebook without Snakemake.
"""

__version__ = "0.1.0"
