"""The QC-kept cells and genes of ``ingested.h5ad``, read a chunk of cells at a time.

QC writes tables only (``qc_metrics.tsv``, column ``kept``); the cluster stage takes the kept
cells from the ingested file, and the genes detected in at least ``min_cells_per_gene`` of
them (QC's gene rule), without ever holding the whole ingested matrix in memory.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import InputError
from .expression import ROW_CHUNK, iter_rows

__all__ = ["QC_OBS_COLUMNS", "KeptCells", "kept_blocks", "read_kept", "read_qc_metrics"]

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
    """
    backed = ad.read_h5ad(path, backed="r")
    try:
        rows = _kept_rows(pd.Index(backed.obs_names.astype(str)), metrics, str(path))
        n_vars = backed.n_vars
        blocks, seen = [], np.zeros(n_vars, dtype=np.int64)
        for start, stop, block in iter_rows(backed.X, backed.n_obs, chunk_size=chunk_size):
            part = block[rows[start:stop]]
            seen += _nonzero_per_gene(part, n_vars)
            blocks.append(part)
        shell = ad.AnnData(obs=backed.obs.copy(), var=backed.var.copy(), uns=dict(backed.uns))
    finally:
        backed.file.close()
    genes = seen >= int(min_cells_per_gene)
    x = sp.vstack(blocks, format="csr") if sp.issparse(blocks[0]) else np.vstack(blocks)
    adata = shell[rows].copy()[:, genes].copy()
    adata.X = x[:, genes]
    for col in QC_OBS_COLUMNS:
        if col in metrics.columns:
            adata.obs[col] = metrics.loc[adata.obs_names, col].to_numpy()
    return adata, KeptCells(rows=rows, genes=genes)


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
