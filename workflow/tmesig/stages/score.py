"""Stage ``score``: one score per cell and gene set, and the coverage audit.

Inputs
    ``h5ad``: ``results/{dataset}/clustered.h5ad`` (log-normalised ``X``; read backed for
    ``mean_diff`` and ``rank``, in memory for ``scanpy``); ``sets``: the signature YAML files.
Outputs
    ``scores``: ``scores.parquet`` (cells × scored sets, float32, index ``cell``);
    ``coverage``: ``coverage.tsv`` (:func:`tmesig.score.coverage_table` plus a ``method``
    column recording the method and its parameters, and ``input_mode``: scores are computed
    on ``X`` whatever the mode, i.e. on the given values for ``normalised`` input).
Params
    ``score``: the config's ``score`` section (``method``, ``min_coverage``, ``min_genes``,
    ``ctrl_size``, ``n_bins``, ``seed``, ``max_rank``).
"""

from .. import score, signatures
from ..input_mode import input_mode
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["run"]

#: The parameters recorded in coverage.tsv, in this order.
_RECORDED = ("method", "ctrl_size", "n_bins", "seed", "max_rank", "min_coverage", "min_genes")


def run(io: StageIO) -> str:
    """Score the clustered cells; write ``scores`` and ``coverage``; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    p = io.params["score"]
    sets = signatures.load_library(io.input["sets"])
    # backed: the matrix is read in chunks, never whole (mean_diff and rank)
    adata = read_expression(io.input["h5ad"], backed=p["method"] != "scanpy")
    opts = score.ScoreOptions.from_config(p)
    scores, coverage = score.score_cells(adata, sets, options=opts)
    params = {k: getattr(opts, k) for k in _RECORDED}
    coverage["method"] = ";".join(f"{k}={v}" for k, v in params.items())
    coverage["input_mode"] = input_mode(adata)
    skipped = coverage.loc[~coverage["scored"], "set"].tolist()
    scores.attrs = {}
    scores.to_parquet(io.output["scores"])
    coverage.to_csv(io.output["coverage"], sep="\t", index=False)
    missing = f"; not scored (too few genes found): {', '.join(skipped)}" if skipped else ""
    return f"scored {scores.shape[1]} of {len(coverage)} sets ({params['method']}){missing}"
