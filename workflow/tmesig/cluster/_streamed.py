"""The cluster stage on a large dataset: never the whole matrix in memory.

Above ``sketch_above`` cells (:class:`SketchOptions`), :func:`streamed_expression` reads
``ingested.h5ad`` a chunk of cells at a time: the size factors (scanpy's ``normalize_total``,
row by row: the same numbers), then each gene's mean and variance of ``expm1`` of the
log-normalised values (per batch with a batch key), from which the highly variable genes are
selected as scanpy's ``seurat`` flavour does (:func:`seurat_frame`, :func:`seurat_batched`),
then only those genes' columns of the kept cells, log-normalised. scanpy's PCA on the highly
variable genes then sees exactly the matrix of the in-memory path: the same components, the
same graph. Memory: one chunk, plus the highly variable genes' non-zeros (at 100,000
simulated cells, 2,000 of 20,000 genes: see the README's scale section), plus a few floats
per cell.
"""

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from ..input_mode import NORMALISED, PANEL
from ..io.expression import (
    EXPRESSION_KEY,
    LOG1P_SIZE_FACTOR,
    NO_TRANSFORM,
    SIZE_FACTOR,
    _record,
    normalise_block,
)
from ..io.kept_cells import KeptCells, kept_blocks, read_kept_columns
from ._genes import seurat_batched, seurat_frame

__all__ = ["streamed_expression"]

_TARGET_SUM = 1e4
_STORED = "stored"  # ``sizes`` of :func:`_scan` for values used as stored


@dataclass
class _Moments:
    """Per batch and gene: sums of ``expm1`` of the values and of its square, cells with a
    positive value; per batch: cells."""

    s1: np.ndarray
    s2: np.ndarray
    detected: np.ndarray
    n: np.ndarray

    @classmethod
    def zeros(cls, n_batches: int, n_genes: int) -> "_Moments":
        shape = (n_batches, n_genes)
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape, np.int64), np.zeros(n_batches))

    def add(self, block: sp.csr_matrix, codes: np.ndarray) -> None:
        """Add a block of log-normalised cells (CSR), ``codes`` their batches."""
        n_genes = self.s1.shape[1]
        # expm1 in the matrix's precision (as scanpy), sums in float64, on the stored values
        # only (no copy of the block's indices)
        values = np.expm1(block.data).astype(np.float64)
        key, positive = block.indices, block.data > 0
        if len(self.n) > 1:  # a cell without a batch (code -1) is in none, as in scanpy
            rows = np.repeat(codes, np.diff(block.indptr))
            keep = rows >= 0
            key = (rows * n_genes + block.indices)[keep]
            values, positive = values[keep], positive[keep]
        size = self.s1.size
        self.s1 += np.bincount(key, weights=values, minlength=size).reshape(self.s1.shape)
        values *= values
        self.s2 += np.bincount(key, weights=values, minlength=size).reshape(self.s1.shape)
        self.detected += np.bincount(key[positive], minlength=size).reshape(self.s1.shape)
        self.n += np.bincount(codes[codes >= 0], minlength=len(self.n))

    def mean_var(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and unbiased variance per batch and gene."""
        n = self.n[:, None]
        mean = self.s1 / n
        var = (self.s2 - n * mean**2) / np.maximum(n - 1, 1)
        return mean, np.maximum(var, 0.0)


def _cell_totals(block: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """scanpy's ``normalize_total`` counts per cell (float32) and scipy's row sums (float64,
    what :func:`tmesig.io.expression.normalise_in_place` takes the panel median of)."""
    counts = sc.pp.normalize_total(ad.AnnData(block), target_sum=1.0, inplace=False)
    return counts["norm_factor"], np.asarray(block.sum(axis=1), dtype=np.float64).ravel()


def _scan(path, kept: KeptCells, *, sizes, moments: _Moments | None, codes, chunk_size: int):
    """One pass over the kept cells: without ``sizes``, their totals (returned) and, with
    ``moments``, the moments of the values log-normalised to the counts target; with
    ``sizes`` (size factors, or :data:`_STORED` for values used as stored), the moments
    only."""
    totals, sums, row = [], [], 0
    for block in kept_blocks(path, kept, chunk_size=chunk_size):
        n = block.shape[0]
        values = block
        if sizes is None:
            counts, rowsum = _cell_totals(block)
            totals.append(counts)
            sums.append(rowsum)
            if moments is not None:
                values = normalise_block(block, counts / _TARGET_SUM)
        elif sizes is not _STORED:
            values = normalise_block(block, sizes[row : row + n])
        if moments is not None:
            moments.add(values, codes[row : row + n])
        row += n
    if sizes is None:
        return np.concatenate(totals), np.concatenate(sums)
    return None


def _size_factors(path, kept, *, mode, moments, codes, chunk_size):
    """Size factors and the normalisation record; fills ``moments`` when it can in the
    same pass (counts mode; panel needs the median of every cell's total first)."""
    n_cells = int(kept.rows.sum())
    if mode == NORMALISED:
        text = "none: input normalised, X used as given"
        return np.ones(n_cells, np.float32), _record(mode, NO_TRANSFORM, float("nan"), text), False
    one_pass = mode != PANEL and moments is not None
    counts, sums = _scan(
        path,
        kept,
        sizes=None,
        moments=moments if one_pass else None,
        codes=codes,
        chunk_size=chunk_size,
    )
    if mode == PANEL:  # scanpy's target: the median total (of float32 totals)
        sf = counts / np.median(counts)
        used = float(np.median(sums))
        text = "log1p of counts scaled to the median total per cell (panel)"
    else:
        sf = counts / _TARGET_SUM
        used = _TARGET_SUM
        text = f"log1p of counts scaled to {_TARGET_SUM:g} per cell"
    return sf, _record(mode, LOG1P_SIZE_FACTOR, used, text), one_pass


def _batch_codes(obs: pd.DataFrame, batch_key: str | None) -> tuple[np.ndarray, pd.Index]:
    if batch_key is None:
        return np.zeros(len(obs), dtype=np.int64), pd.Index(["all"])
    cat = pd.Categorical(obs[batch_key])
    return cat.codes.astype(np.int64), cat.categories


def _mark_genes(adata: ad.AnnData, moments: _Moments, *, n_hvg: int, batches) -> None:
    """``var`` columns as the in-memory path writes them (scanpy's with a batch key)."""
    mean, var = moments.mean_var()
    if len(batches) == 1:
        df = seurat_frame(mean[0], var[0], index=adata.var_names, n_top_genes=n_hvg)
        for col in df.columns:
            adata.var[col] = df[col].to_numpy()
        return
    df = seurat_batched(mean, var, moments.detected > 0, index=adata.var_names, n_top_genes=n_hvg)
    adata.uns["hvg"] = {"flavor": "seurat"}
    adata.var["highly_variable"] = df["highly_variable"]
    adata.var["means"] = df["means"]
    adata.var["dispersions"] = df["dispersions"]
    adata.var["dispersions_norm"] = df["dispersions_norm"].astype(np.float32, copy=False)
    adata.var["highly_variable_nbatches"] = df["highly_variable_nbatches"]
    adata.var["highly_variable_intersection"] = df["highly_variable_intersection"]


def streamed_expression(
    adata: ad.AnnData,
    path: str,
    kept: KeptCells,
    *,
    mode: str,
    n_hvg: int,
    batch_key: str | None,
    chunk_size: int,
) -> ad.AnnData:
    """The kept cells with only their highly variable genes' values in memory (in place).

    Parameters
    ----------
    adata
        The kept cells × genes without ``X`` (:func:`tmesig.io.kept_cells.scan_kept`).
    path
        ``ingested.h5ad``.
    kept
        Its masks (:func:`tmesig.io.kept_cells.scan_kept`).
    mode
        The input mode (:mod:`tmesig.input_mode`).
    n_hvg
        Highly variable genes to select (every gene when there are no more genes).
    batch_key
        obs column to select genes per batch over (as scanpy), or None.
    chunk_size
        Ingested cells read at a time.

    Returns
    -------
    AnnData
        ``adata`` with ``obs["size_factor"]``, ``uns["tmesig_expression"]`` (as
        :func:`tmesig.io.expression.normalise_in_place` writes them), ``var`` with
        ``highly_variable`` (and the statistics of the selection), and ``X``: the
        log-normalised values of the highly variable genes, every other column empty.
    """
    select = n_hvg < adata.n_vars
    hv_batch = batch_key if batch_key and adata.obs[batch_key].nunique() > 1 else None
    if hv_batch is not None and select:
        adata.strings_to_categoricals()  # as scanpy's batched selection does
    codes, batches = _batch_codes(adata.obs, hv_batch)
    moments = _Moments.zeros(len(batches), adata.n_vars) if select else None
    sf, record, filled = _size_factors(
        path, kept, mode=mode, moments=moments, codes=codes, chunk_size=chunk_size
    )
    if select and not filled:
        sizes = _STORED if mode == NORMALISED else sf
        _scan(path, kept, sizes=sizes, moments=moments, codes=codes, chunk_size=chunk_size)
    if select:
        _mark_genes(adata, moments, n_hvg=n_hvg, batches=batches)
    else:
        adata.var["highly_variable"] = True
    adata.obs[SIZE_FACTOR] = sf
    adata.uns[EXPRESSION_KEY] = record
    if mode != NORMALISED:
        adata.uns["log1p"] = {"base": None}  # as scanpy's log1p records it
    normalise = None if mode == NORMALISED else sf
    adata.X = read_kept_columns(
        path,
        kept,
        columns=adata.var["highly_variable"].to_numpy(dtype=bool),
        size_factors=normalise,
        chunk_size=chunk_size,
    )
    return adata
