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

Scattered (big datasets, see :mod:`tmesig.score._scatter`): instead of ``h5ad`` the inputs are
``plan`` (stage ``score_plan``), ``chunks`` (the blocks' scores, stage ``score_chunk``) and
``coverage`` (stage ``score_stats``); the stage joins them into the same two outputs.
"""

import shutil
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .. import score, signatures
from ..input_mode import input_mode
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["finish_coverage", "run"]

#: The parameters recorded in coverage.tsv, in this order.
_RECORDED = ("method", "ctrl_size", "n_bins", "seed", "max_rank", "min_coverage", "min_genes")


def run(io: StageIO) -> str:
    """Score the clustered cells; write ``scores`` and ``coverage``; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    if "chunks" in io.input:
        return _gather(io)
    p = io.params["score"]
    sets = signatures.load_library(io.input["sets"])
    # backed: the matrix is read in chunks, never whole (mean_diff and rank)
    adata = read_expression(io.input["h5ad"], backed=p["method"] != "scanpy")
    opts = score.ScoreOptions.from_config(p)
    scores, coverage = score.score_cells(adata, sets, options=opts)
    finish_coverage(coverage, opts, input_mode(adata)).to_csv(
        io.output["coverage"], sep="\t", index=False
    )
    scores.attrs = {}
    scores.to_parquet(io.output["scores"])
    return _summary(scores, coverage, p["method"])


def finish_coverage(coverage: pd.DataFrame, opts: Any, mode: str) -> pd.DataFrame:
    """``coverage.tsv`` as written: the audit plus the ``method`` and ``input_mode`` columns.

    Parameters
    ----------
    coverage
        :func:`tmesig.score.coverage_table` (changed in place and returned).
    opts
        The :class:`tmesig.score.ScoreOptions` used.
    mode
        The run's input mode (:func:`tmesig.input_mode.input_mode`).
    """
    params = {k: getattr(opts, k) for k in _RECORDED}
    coverage["method"] = ";".join(f"{k}={v}" for k, v in params.items())
    coverage["input_mode"] = mode
    return coverage


def _summary(scores: pd.DataFrame, coverage: pd.DataFrame, method: str) -> str:
    skipped = coverage.loc[coverage["scored"].astype(str) != "True", "set"].tolist()
    missing = f"; not scored (too few genes found): {', '.join(skipped)}" if skipped else ""
    return f"scored {scores.shape[1]} of {len(coverage)} sets ({method}){missing}"


def _gather(io: StageIO) -> str:
    """Join the blocks' scores (scattered run); the coverage table is score_stats'."""
    i: Mapping[str, Any] = io.input
    plan = score.read_plan(i["plan"])
    blocks = [pd.read_parquet(f) for f in i["chunks"]]
    scores = score.gather_scores(blocks, plan=plan)
    scores.to_parquet(io.output["scores"])
    shutil.copyfile(i["coverage"], io.output["coverage"])
    coverage = pd.read_csv(i["coverage"], sep="\t", keep_default_na=False)
    line = _summary(scores, coverage, io.params["score"]["method"])
    return f"{line}; {len(blocks)} blocks of cells joined"
