"""Pseudobulk: per-cell values summed (or averaged) per level × compartment × patient × condition.

The matrix is streamed: from an ``.h5ad`` path, ``layers/<layer>`` (or ``X``) is read a
chunk of cells at a time with h5py and :func:`anndata.io.sparse_dataset`, so only one chunk
and the (groups × genes) result are ever in memory; an AnnData is read the same way, ``X``
through :func:`tmesig.score._chunks.iter_chunks` (a backed ``clustered.h5ad`` storing counts
is log-normalised chunk by chunk, as :func:`tmesig.io.expression.read_expression` would).
Each chunk is multiplied by a sparse cell → group indicator, which puts a cell in one
group per level (its lineage and its state).
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..constants import COL_COMPARTMENT, COL_CONDITION, COL_LEVEL, COL_PATIENT, UNASSIGNED
from ..score._chunks import iter_chunks

__all__ = ["pseudobulk", "read_obs"]

_SKIP = {"", "nan", "NA", "None", UNASSIGNED}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def read_obs(path: str | Path) -> tuple[pd.DataFrame, pd.Index, dict[str, Any]]:
    """``obs``, ``var_names`` and ``uns`` of an h5ad file, without reading any matrix.

    Parameters
    ----------
    path : str or Path
        An ``.h5ad`` file written by tmesig.

    Returns
    -------
    tuple
        ``(obs, var_names, uns)``.
    """
    with h5py.File(path, "r") as f:
        obs = ad.io.read_elem(f["obs"])
        var = ad.io.read_elem(f["var"])
        uns = ad.io.read_elem(f["uns"]) if "uns" in f else {}
    return obs, pd.Index(var.index.astype(str)), dict(uns)


def _blocks(source: Any, layer: str | None, chunk_size: int) -> Iterator[tuple[int, Any]]:
    """``(start, block)`` over consecutive cells of ``layers[layer]`` (``X`` when None)."""
    if isinstance(source, ad.AnnData) and layer is None:  # backed: log-normalised per chunk
        for start, _, block in iter_chunks(source, chunk_size):
            yield start, block
        return
    if isinstance(source, ad.AnnData):
        x = source.layers[layer]
        for start in range(0, source.n_obs, chunk_size):
            yield start, x[start : start + chunk_size]
        return
    with h5py.File(source, "r") as f:
        elem = f["X"] if layer is None else f["layers"][layer]
        x = ad.io.sparse_dataset(elem) if isinstance(elem, h5py.Group) else elem
        n = x.shape[0]
        for start in range(0, n, chunk_size):
            yield start, x[start : min(start + chunk_size, n)]


def _codes(
    groups: Mapping[str, pd.Series], patient: pd.Series, condition: pd.Series
) -> tuple[pd.DataFrame, np.ndarray]:
    """The groups (level, compartment, patient, condition) and each cell's group per level."""
    keys, codes = [], []
    pat, cond = patient.astype(str).to_numpy(), condition.astype(str).to_numpy()
    cols = [COL_COMPARTMENT, COL_PATIENT, COL_CONDITION]
    for level, labels in groups.items():
        lab = labels.astype(str).to_numpy()
        frame = pd.DataFrame(dict(zip(cols, (lab, pat, cond), strict=True)))
        keep = ~frame.isin(_SKIP).any(axis=1).to_numpy()
        code = np.full(len(frame), -1, dtype=np.int64)
        grouped = frame[keep].groupby(cols, sort=True)
        code[keep] = grouped.ngroup().to_numpy() + len(keys)
        codes.append(code)
        keys += [(level, *k) for k in grouped.size().index]
    meta = pd.DataFrame(keys, columns=[COL_LEVEL, COL_COMPARTMENT, COL_PATIENT, COL_CONDITION])
    return meta, np.column_stack(codes) if codes else np.empty((len(patient), 0), int)


def pseudobulk(
    source: str | Path | ad.AnnData,
    groups: Mapping[str, pd.Series],
    *,
    patient: pd.Series,
    condition: pd.Series,
    layer: str | None = "counts",
    statistic: str = "sum",
    chunk_size: int = 20_000,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sum (or mean) of a matrix over the cells of each level × compartment × patient × condition.

    Parameters
    ----------
    source : str, Path or anndata.AnnData
        An ``.h5ad`` file or an AnnData (in memory, or backed: ``X`` log-normalised a chunk
        at a time when it stores counts), streamed; cells in the order of the labels.
    groups : Mapping of str to pandas.Series
        Level (``lineage``, ``state``) → per-cell compartment label, in the matrix's cell
        order; ``unassigned`` and empty labels are left out of that level.
    patient, condition : pandas.Series
        Per-cell patient and condition, in the same order (empty ones left out).
    layer : str or None
        The layer to aggregate (``counts``); None: ``X``.
    statistic : str
        ``sum`` (counts) or ``mean`` (log values).
    chunk_size : int
        Cells read at a time.

    Returns
    -------
    tuple of pandas.DataFrame and numpy.ndarray
        ``meta``: one row per group (``level``, ``compartment``, ``patient``, ``condition``,
        ``n_cells``), sorted; ``values``: groups × genes (float64), in ``meta``'s order.
    """
    if statistic not in ("sum", "mean"):
        msg = f"statistic must be 'sum' or 'mean', got {statistic!r}"
        raise ValueError(msg)
    meta, codes = _codes(groups, patient, condition)
    n_groups = len(meta)
    total: np.ndarray | None = None
    for start, block in _blocks(source, layer, int(chunk_size)):
        block = sp.csr_matrix(block) if not sp.issparse(block) else block.tocsr()
        part = codes[start : start + block.shape[0]]
        rows, levels = np.nonzero(part >= 0)
        ind = sp.csr_matrix(
            (np.ones(len(rows)), (part[rows, levels], rows)), shape=(n_groups, block.shape[0])
        )
        if block.dtype not in _FLOATS:  # float32 is summed in float64 by scipy itself
            block = block.astype(np.float64)
        summed = np.asarray((ind @ block).todense())
        total = summed if total is None else total + summed
    if total is None:
        total = np.zeros((n_groups, 0))
    n_cells = np.bincount(codes[codes >= 0], minlength=n_groups)
    meta["n_cells"] = n_cells
    if statistic == "mean":
        total = total / np.maximum(n_cells, 1)[:, None]
    return meta, total
