"""Stage ``score_plan`` (a checkpoint): into how many blocks of cells scoring is split.

Inputs
    ``h5ad``: ``results/{dataset}/clustered.h5ad`` (only the number of cells is read).
Outputs
    ``plan``: ``score/plan.tsv`` (:func:`tmesig.score.chunk_plan`: ``chunk``, ``start``,
    ``stop``); one row unless the dataset has at least ``scatter.min_cells`` cells.
Params
    ``scatter``: the config's ``scatter`` section; ``method``: the scoring method (``scanpy``
    is never split).
"""

import logging
from pathlib import Path

from .. import score
from ._io import StageIO

__all__ = ["run"]

logger = logging.getLogger("tmesig")


def run(io: StageIO) -> str | None:
    """Write the plan; return a summary line when scoring is split (else nothing: the
    terminal gets no line for the usual one-job case).

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    n_cells = score.count_cells(io.input["h5ad"])
    opts = score.ScatterOptions.from_config(io.params["scatter"])
    plan = score.chunk_plan(n_cells, options=opts, method=io.params["method"])
    Path(io.output["plan"]).parent.mkdir(parents=True, exist_ok=True)
    plan.to_csv(io.output["plan"], sep="\t", index=False)
    if len(plan) <= 1:
        logger.info("%d cells: scored in one job (scatter.min_cells %d)", n_cells, opts.min_cells)
        return None
    return f"{n_cells} cells: scored in {len(plan)} blocks of up to {opts.chunk_cells} cells"
