"""The QC-kept cells and genes of ``ingested.h5ad``, read a chunk of cells at a time.

QC writes tables only (``qc_metrics.tsv``, column ``kept``); the cluster stage takes the kept
cells from the ingested file, and the genes detected in at least ``min_cells_per_gene`` of
them (QC's gene rule), without ever holding the whole ingested matrix in memory.

:func:`read_rows` (from :mod:`tmesig.io.backed_rows`, re-exported here) reads some cells of a
backed ``clustered.h5ad`` (log-normalised, as :func:`tmesig.io.expression.read_expression`
would give them), so that a stage that works on one lineage or on a capped sample of cells at
a time never holds the whole matrix.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .backed_rows import read_rows
from .errors import InputError
from .expression import (
    ROW_CHUNK,
    _stack_csr,
    iter_rows,
    normalise_block,
)

__all__ = [
    "QC_OBS_COLUMNS",
    "KeptCells",
    "kept_blocks",
    "read_kept",
    "read_kept_columns",
    "read_qc_metrics",
    "read_rows",
    "scan_kept",
]

#: Per-cell QC metrics copied from ``qc_metrics.tsv`` into ``obs``.
QC_OBS_COLUMNS: tuple[str, ...] = ("total_counts", "n_genes", "pct_mito", "doublet_score")


@dataclass(frozen=True)
class KeptCells:
    """Which rows and columns of the ingested matrix QC keeps.

    Attributes
    ----------
    rows
        Boolean mask over the ingested cells.
    genes
        Boolean mask over the ingested genes.
    """

    rows: np.ndarray
    genes: np.ndarray


def read_qc_metrics(path: str | Path) -> pd.DataFrame:
    """``qc_metrics.tsv`` (index: cell barcode as text; ``kept`` as bool).

    Parameters
    ----------
    path
        The QC stage's per-cell table (columns ``kept`` and the metrics).

    Returns
    -------
    DataFrame
    """
    m = pd.read_csv(path, sep="\t", index_col=0, dtype={0: str}, keep_default_na=True)
    m.index = m.index.astype(str)
    if "kept" not in m.columns:
        msg = f"{path}: no 'kept' column; rerun the qc rule (it writes one per cell)"
        raise InputError(msg)
    m["kept"] = m["kept"].astype(str).str.lower().isin(("true", "1"))
    return m


def _kept_rows(obs_names: pd.Index, metrics: pd.DataFrame, where: str) -> np.ndarray:
    missing = ~obs_names.isin(metrics.index)
    if missing.any():
        msg = (
            f"{where}: {int(missing.sum())} cells (e.g. {obs_names[missing][0]!r}) have no row "
            "in qc_metrics.tsv; rerun the qc rule on this ingested file"
        )
        raise InputError(msg)
    rows = metrics["kept"].reindex(obs_names).to_numpy(dtype=bool)
    if not rows.any():
        msg = f"{where}: QC kept no cell; loosen config qc.nmads / qc.min_genes"
        raise InputError(msg)
    return rows


def _nonzero_per_gene(block, n_vars: int) -> np.ndarray:
    if sp.issparse(block):
        return np.bincount(block.indices[block.data != 0], minlength=n_vars)
    return np.count_nonzero(block, axis=0)


def _pass(
    path: str | Path,
    metrics: pd.DataFrame,
    min_cells_per_gene: int,
    *,
    chunk_size: int,
    keep: list | None,
) -> tuple[ad.AnnData, KeptCells]:
    """One pass over ``ingested.h5ad``: the kept cells × genes without ``X`` and the masks;
    each chunk's kept rows (all genes) appended to ``keep`` when it is a list."""
    backed = ad.read_h5ad(path, backed="r")
    try:
        rows = _kept_rows(pd.Index(backed.obs_names.astype(str)), metrics, str(path))
        n_vars = backed.n_vars
        seen = np.zeros(n_vars, dtype=np.int64)
        for start, stop, block in iter_rows(backed.X, backed.n_obs, chunk_size=chunk_size):
            part = block[rows[start:stop]]
            seen += _nonzero_per_gene(part, n_vars)
            if keep is not None:
                keep.append(part)
        shell = ad.AnnData(obs=backed.obs.copy(), var=backed.var.copy(), uns=dict(backed.uns))
    finally:
        backed.file.close()
    genes = seen >= int(min_cells_per_gene)
    if genes.sum() < 2:
        msg = (
            f"{path}: only {int(genes.sum())} gene(s) are detected in at least "
            f"qc.min_cells_per_gene = {min_cells_per_gene} of the {int(rows.sum()):,} QC-kept "
            "cells: nothing to cluster on. Fix: lower qc.min_cells_per_gene in the config "
            "(default 3)"
        )
        raise InputError(msg)
    adata = shell[rows].copy()[:, genes].copy()
    for col in QC_OBS_COLUMNS:
        if col in metrics.columns:
            adata.obs[col] = metrics.loc[adata.obs_names, col].to_numpy()
    return adata, KeptCells(rows=rows, genes=genes)


def read_kept(
    path: str | Path,
    metrics: pd.DataFrame,
    *,
    min_cells_per_gene: int,
    chunk_size: int = ROW_CHUNK,
) -> tuple[ad.AnnData, KeptCells]:
    """The kept cells and genes of ``ingested.h5ad`` in memory, with their QC metrics.

    Parameters
    ----------
    path
        ``ingested.h5ad`` (``X``: the stored values).
    metrics
        :func:`read_qc_metrics` of the run.
    min_cells_per_gene
        Genes detected in fewer kept cells are dropped (the config's ``qc`` key).
    chunk_size
        Cells read at a time.

    Returns
    -------
    adata, kept
        The kept cells × genes (``X`` as stored; ``obs`` with :data:`QC_OBS_COLUMNS`) and the
        masks (for :func:`kept_blocks`).
    Raises
    ------
    InputError
        Fewer than two genes detected in ``min_cells_per_gene`` kept cells (the config key
        is named).
    """
    blocks: list = []
    adata, kept = _pass(path, metrics, min_cells_per_gene, chunk_size=chunk_size, keep=blocks)
    x = _stack_csr(blocks) if sp.issparse(blocks[0]) else np.vstack(blocks)  # frees each block
    adata.X = x[:, kept.genes]
    return adata, kept


def scan_kept(
    path: str | Path,
    metrics: pd.DataFrame,
    *,
    min_cells_per_gene: int,
    chunk_size: int = ROW_CHUNK,
) -> tuple[ad.AnnData, KeptCells]:
    """The kept cells and genes of ``ingested.h5ad`` without their values (one pass).

    The same cells, genes, ``obs``, ``var`` and ``uns`` as :func:`read_kept`, with ``X``
    left out: only one chunk of cells is in memory at a time.

    Parameters
    ----------
    path
        ``ingested.h5ad`` (``X``: the stored values).
    metrics
        :func:`read_qc_metrics` of the run.
    min_cells_per_gene
        Genes detected in fewer kept cells are dropped (the config's ``qc`` key).
    chunk_size
        Cells read at a time.

    Returns
    -------
    adata, kept
        The kept cells × genes without ``X`` (``obs`` with :data:`QC_OBS_COLUMNS`) and the
        masks (for :func:`kept_blocks` and :func:`read_kept_columns`).
    """
    return _pass(path, metrics, min_cells_per_gene, chunk_size=chunk_size, keep=None)


def read_kept_columns(
    path: str | Path,
    kept: KeptCells,
    *,
    columns: np.ndarray,
    size_factors: np.ndarray | None,
    chunk_size: int = ROW_CHUNK,
) -> sp.csr_matrix:
    """Some genes of the kept cells, log-normalised, in a matrix of every kept gene.

    Only the values of ``columns`` are read into memory (a chunk of cells at a time); the
    other columns of the result are empty, so that it can stand for the whole matrix in a
    computation that uses only ``columns`` (scanpy's PCA with ``mask_var``).

    Parameters
    ----------
    path
        ``ingested.h5ad``.
    kept
        The masks from :func:`scan_kept`.
    columns
        Boolean mask over the kept genes: the columns to read.
    size_factors
        Per kept cell, ``obs["size_factor"]``: each row is log-normalised as
        :func:`tmesig.io.expression.normalise_block` does (the numbers of
        :func:`tmesig.io.expression.normalise_in_place`); None keeps the values as stored.
    chunk_size
        Ingested cells read at a time.

    Returns
    -------
    scipy.sparse.csr_matrix
        Kept cells × kept genes (float32), non-zero only in ``columns``.
    """
    columns = np.asarray(columns, dtype=bool)
    where = np.flatnonzero(columns).astype(np.int32)
    blocks, row = [], 0
    for block in kept_blocks(path, kept, chunk_size=chunk_size):
        n = block.shape[0]
        part = block[:, where]
        del block
        if size_factors is not None:
            part = normalise_block(part, size_factors[row : row + n])
        part.sort_indices()
        wide = sp.csr_matrix((part.data, where[part.indices], part.indptr), (n, columns.size))
        blocks.append(wide)
        row += n
    if not blocks:
        return sp.csr_matrix((0, columns.size), dtype=np.float32)
    return _stack_csr(blocks)


def kept_blocks(
    path: str | Path, kept: KeptCells, *, chunk_size: int = ROW_CHUNK
) -> Iterator[sp.csr_matrix]:
    """The stored values of the kept cells and genes, one CSR block at a time.

    Parameters
    ----------
    path
        ``ingested.h5ad``.
    kept
        The masks from :func:`read_kept`.
    chunk_size
        Ingested cells read at a time.

    Yields
    ------
    scipy.sparse.csr_matrix
        Kept cells × kept genes of one chunk (float32), none empty.
    """
    backed = ad.read_h5ad(path, backed="r")
    try:
        for start, stop, block in iter_rows(backed.X, backed.n_obs, chunk_size=chunk_size):
            part = block[kept.rows[start:stop]]
            if part.shape[0]:
                yield sp.csr_matrix(part[:, kept.genes], dtype=np.float32)
    finally:
        backed.file.close()
