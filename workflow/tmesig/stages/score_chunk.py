"""Stage ``score_chunk`` (scattered scoring): the scores of one block of cells.

Inputs
    ``h5ad``: ``results/{dataset}/clustered.h5ad`` (read backed: only the block's rows);
    ``plan``: ``score/plan.tsv``; ``stats``: ``score/gene_stats.npz`` (over all cells);
    ``sets``: the signature YAML files.
Outputs
    ``scores``: ``score/chunk_{chunk}.parquet``: the block's rows of ``scores.parquet``,
    equal to those of the unsplit run (the gene statistics are the dataset's).
Params
    ``score``: the config's ``score`` section.
Wildcards
    ``chunk``: the block's number in the plan.
"""

from .. import score, signatures
from ..io.errors import InputError
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Score the block's cells; write ``scores``; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs, params and wildcards (see the module docstring).
    """
    plan = score.read_plan(io.input["plan"]).set_index("chunk")
    chunk = int(io.wildcards["chunk"])
    if chunk not in plan.index:
        msg = f"{io.input['plan']}: no block {chunk} in the plan; rerun score_plan."
        raise InputError(msg)
    start, stop = (int(v) for v in plan.loc[chunk, ["start", "stop"]])
    opts = score.ScoreOptions.from_config(io.params["score"])
    sets = signatures.load_library(io.input["sets"])
    adata = read_expression(io.input["h5ad"], backed=True)
    stats = score.load_gene_stats(io.input["stats"], var_names=adata.var_names)
    if stats.n_cells != adata.n_obs:
        msg = f"{io.input['stats']}: computed on {stats.n_cells} cells, the data has {adata.n_obs}."
        raise InputError(msg + " Delete it and rerun.")
    scores, _ = score.score_cells(adata[start:stop], sets, options=opts, stats=stats)
    scores.attrs = {}
    scores.to_parquet(io.output["scores"])
    return f"block {chunk}: cells {start}-{stop - 1}, {scores.shape[1]} sets"
