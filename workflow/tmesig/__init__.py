"""tmesig: immune-checkpoint-blockade resistance programs in tumour single-cell RNA-seq.

The domain modules (``qc``, ``cluster``, ``annotate``, ``subsets``, ``signatures``,
``score``, ``flag``, ``conditions``, ``enrichment``, ``report``...) are usable from a
notebook without Snakemake. ``tmesig.stages.<stage>.run`` is one pipeline step (read its
inputs, call the domain modules, write its outputs); ``tmesig.sheet`` validates the
configuration and the sample sheet, ``tmesig.workflow_paths`` names every file of a run,
and ``tmesig.runner`` runs a stage from a Snakemake ``script:``.
"""

__version__ = "0.1.0"
