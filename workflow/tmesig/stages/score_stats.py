"""Stage ``score_stats`` (scattered scoring): the dataset-wide gene statistics, once.

Inputs
    ``h5ad``: ``results/{dataset}/clustered.h5ad`` (read backed, one streaming pass);
    ``sets``: the signature YAML files.
Outputs
    ``stats``: ``score/gene_stats.npz`` (:func:`tmesig.score.save_gene_stats`: gene means
    and detection counts over all cells, which place genes in expression bins and decide
    the coverage audit); ``coverage``: ``score/coverage.tsv``, the final ``coverage.tsv``
    (written as stage ``score`` writes it unsplit).
Params
    ``score``: the config's ``score`` section.
"""

from .. import score, signatures
from ..input_mode import input_mode
from ..io.expression import read_expression
from ._io import StageIO
from .score import finish_coverage

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Write the gene statistics and the coverage table; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    opts = score.ScoreOptions.from_config(io.params["score"])
    sets = signatures.load_library(io.input["sets"])
    adata = read_expression(io.input["h5ad"], backed=True)
    stats = score.gene_stats(adata, chunk_size=opts.chunk_size)
    coverage = score.coverage_table(
        adata, sets, min_coverage=opts.min_coverage, min_genes=opts.min_genes, stats=stats
    )
    score.save_gene_stats(stats, io.output["stats"], var_names=adata.var_names)
    finish_coverage(coverage, opts, input_mode(adata)).to_csv(
        io.output["coverage"], sep="\t", index=False
    )
    return f"gene statistics of {stats.n_cells} cells × {adata.n_vars} genes"
