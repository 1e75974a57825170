"""Scatter-gather scoring: cut the cells into blocks that separate jobs score, then join them.

Every score of a cell depends on that cell's row and on dataset-wide gene statistics only
(the gene means that place genes in scanpy's expression bins, and the detection counts of the
coverage audit). :func:`tmesig.score.gene_stats` computes those once, over all cells, in one
streaming pass; saved with :func:`save_gene_stats` and handed to every block
(:func:`tmesig.score.score_cells` with ``stats=``), a block's scores are the rows the unsplit
run computes, bit for bit, and :func:`gather_scores` joins the blocks into the same table.

``method="scanpy"`` (the in-memory reference loop of :func:`scanpy.tl.score_genes`) computes
its own gene means from the cells it is given, so it is never split (:func:`chunk_plan`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from ..io.errors import InputError
from ._genes import GeneStats

__all__ = [
    "ScatterOptions",
    "chunk_plan",
    "count_cells",
    "gather_inputs",
    "gather_scores",
    "load_gene_stats",
    "read_plan",
    "save_gene_stats",
]

#: Columns of the plan table (one row per block of cells).
PLAN_COLUMNS = ("chunk", "start", "stop")


#: Most jobs a scatter plan makes (blocks are made larger to stay within it).
MAX_JOBS = 1000


@dataclass(frozen=True)
class ScatterOptions:
    """When scoring is split, and into blocks of how many cells.

    Attributes
    ----------
    min_cells : int
        Datasets with at least this many cells are scored in blocks (separate jobs).
    chunk_cells : int
        Cells per block (at least; see :meth:`block`).
    """

    min_cells: int = 200_000
    chunk_cells: int = 100_000

    def block(self, n_cells: int) -> int:
        """Cells per block for ``n_cells`` cells: ``chunk_cells``, raised so that no plan
        has more than :data:`MAX_JOBS` blocks (``chunk_cells: 1`` on a million cells must
        not make a million jobs)."""
        return max(int(self.chunk_cells), -(-int(n_cells) // MAX_JOBS))

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ScatterOptions":
        """Options from the config's ``scatter`` section (``min_cells``, ``chunk_cells``)."""
        return cls(**{k: int(section[k]) for k in ("min_cells", "chunk_cells") if k in section})


def chunk_plan(
    n_cells: int, *, options: ScatterOptions | None = None, method: str = "mean_diff"
) -> pd.DataFrame:
    """The blocks of cells that scoring is split into.

    Parameters
    ----------
    n_cells
        Cells of the dataset.
    options
        :class:`ScatterOptions` (split at ``min_cells`` or more, ``chunk_cells`` per block).
    method
        The scoring method; ``"scanpy"`` is never split.

    Returns
    -------
    DataFrame
        ``chunk`` (0, 1, ...), ``start``, ``stop`` (row positions, ``stop`` exclusive), in
        order and covering every cell once; one row (all cells) when not split, none for
        zero cells.
    """
    opts = options if options is not None else ScatterOptions()
    if opts.chunk_cells < 1 or opts.min_cells < 1:
        msg = f"scatter: min_cells and chunk_cells must be positive, got {opts}."
        raise InputError(msg)
    n = int(n_cells)
    step = opts.block(n) if n >= opts.min_cells and method != "scanpy" else max(n, 1)
    starts = np.arange(0, n, step, dtype=np.int64)
    stops = np.minimum(starts + step, n)
    return pd.DataFrame({"chunk": np.arange(len(starts)), "start": starts, "stop": stops})


def read_plan(path: str | Path) -> pd.DataFrame:
    """A plan written by ``chunk_plan(...).to_csv(path, sep="\\t", index=False)``, checked.

    Parameters
    ----------
    path
        The plan table.
    """
    plan = pd.read_csv(path, sep="\t", dtype="int64")
    if tuple(plan.columns) != PLAN_COLUMNS or not (
        plan["chunk"].eq(np.arange(len(plan))).all()
        and plan["start"].iloc[1:].eq(plan["stop"].iloc[:-1].to_numpy()).all()
    ):
        msg = f"{path}: not a scoring plan (chunk, start, stop in order); delete it and rerun."
        raise InputError(msg)
    return plan


def count_cells(path: str | Path) -> int:
    """Number of cells of an ``.h5ad`` file, from its ``obs`` index (no matrix is read).

    Parameters
    ----------
    path
        An AnnData ``.h5ad`` file.
    """
    with h5py.File(path, "r") as f:
        obs = f["obs"]
        index = obs.attrs.get("_index", "_index")
        if isinstance(index, bytes):
            index = index.decode()
        return int(obs[index].shape[0])


def save_gene_stats(stats: GeneStats, path: str | Path, *, var_names: Sequence[str]) -> None:
    """Write :class:`GeneStats` and the gene names they belong to (``.npz``, no pickle).

    Parameters
    ----------
    stats
        From :func:`tmesig.score.gene_stats` over all cells.
    path
        Output file (``.npz``).
    var_names
        The genes, in the order of ``stats``.
    """
    with open(path, "wb") as fh:  # an open handle: numpy adds no ".npz" to the name
        np.savez(
            fh,
            means=stats.means,
            n_nonzero=stats.n_nonzero,
            n_cells=np.int64(stats.n_cells),
            var_names=np.asarray([str(g) for g in var_names], dtype=np.str_),
        )


def load_gene_stats(path: str | Path, *, var_names: Sequence[str]) -> GeneStats:
    """Read :func:`save_gene_stats`' file and check it is for these genes.

    Parameters
    ----------
    path
        The ``.npz`` file.
    var_names
        The genes of the data the statistics will be used with, in order.

    Raises
    ------
    InputError
        If the file was computed on other genes (or in another order).
    """
    with np.load(path, allow_pickle=False) as f:
        genes = f["var_names"]
        stats = GeneStats(
            means=f["means"].astype(np.float64),
            n_nonzero=f["n_nonzero"].astype(np.int64),
            n_cells=int(f["n_cells"]),
        )
    if len(genes) != len(var_names) or not np.array_equal(genes, np.asarray(var_names, dtype=str)):
        msg = f"{path}: gene statistics of other genes than the data's; delete it and rerun."
        raise InputError(msg)
    return stats


def gather_scores(blocks: Sequence[pd.DataFrame], *, plan: pd.DataFrame) -> pd.DataFrame:
    """Join the blocks' scores into one table, checking that they are the plan's blocks.

    Parameters
    ----------
    blocks
        Cells × sets of each block (float32, index ``cell``), in the plan's order.
    plan
        :func:`chunk_plan`'s table.

    Returns
    -------
    DataFrame
        The scores of all cells, as the unsplit :func:`tmesig.score.score_cells` gives them.

    Raises
    ------
    InputError
        A block with another number of cells or other columns than the plan's.
    """
    if len(blocks) != len(plan):
        msg = f"{len(blocks)} blocks of scores for a plan of {len(plan)}; rerun score_chunk."
        raise InputError(msg)
    for block, row in zip(blocks, plan.itertuples(index=False), strict=True):
        if len(block) != row.stop - row.start or list(block.columns) != list(blocks[0].columns):
            msg = (
                f"block {row.chunk} has {len(block)} cells and {block.shape[1]} sets, the plan "
                f"{row.stop - row.start} cells and {blocks[0].shape[1]} sets; rerun score_chunk."
            )
            raise InputError(msg)
    out = pd.concat(list(blocks), axis=0)
    out.index.name = "cell"
    out.attrs = {}
    return out


def gather_inputs(plan: str, *, paths: Any, dataset: str) -> dict[str, Any]:
    """Rule ``score``'s inputs once checkpoint ``score_plan`` has written ``plan``.

    Parameters
    ----------
    plan
        The dataset's plan (:func:`chunk_plan`, written by stage ``score_plan``).
    paths
        The run's :class:`tmesig.workflow_paths.WorkflowPaths`.
    dataset
        The dataset id.

    Returns
    -------
    dict
        ``{"h5ad": clustered.h5ad}`` for a plan of one block (scored in one job), else
        ``plan``, ``coverage`` (stage ``score_stats``') and every block's scores (``chunks``).
    """
    chunks = read_plan(plan)["chunk"].tolist()
    if len(chunks) <= 1:
        return {"h5ad": paths.clustered.format(dataset=dataset)}
    return {
        "plan": plan,
        "coverage": paths.score_coverage.format(dataset=dataset),
        "chunks": [paths.score_chunk.format(dataset=dataset, chunk=c) for c in chunks],
    }
