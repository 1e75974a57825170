"""Writing the pipeline's ``.h5ad`` files so that the same data give the same bytes.

The intermediates (``ingested.h5ad``, ``qc.h5ad``, ``clustered.h5ad``) used lzf compression.
h5py's lzf codec compresses with a hash table it does not initialise (liblzf built without
``INIT_HTAB``), so its output may depend on leftover memory: the data read back are always
the same, the bytes need not be. zlib's deflate (``gzip``) is deterministic for a given zlib
build and level. Level 1 is used. On the demo's intermediates (4,000 cells × 12,000 genes,
counts in ``X`` and ``layers["counts"]``; best of 3) each file is 39-41 MB instead of lzf's
84-86 MB, written in 1.5 s instead of 0.7-1.0 s and read in 0.55-0.63 s instead of 0.41-0.47 s:
about 2 s more over a 2-minute run, for half the disk. (Gzip level 4 gained 1 MB more for a
write 1.7 times slower; no compression wrote 142 MB in 0.4 s.)
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import scipy.sparse as sp

__all__ = [
    "H5AD_COMPRESSION",
    "H5AD_COMPRESSION_LEVEL",
    "write_h5ad_deterministic",
    "write_h5ad_streamed",
]

#: The HDF5 filter of every h5ad the pipeline writes.
H5AD_COMPRESSION = "gzip"
#: Its level (1: fastest; the size gain of higher levels is small on count matrices).
H5AD_COMPRESSION_LEVEL = 1


def write_h5ad_deterministic(adata: ad.AnnData, path: str | Path) -> None:
    """Write ``adata`` as ``.h5ad`` with deterministic compression (gzip, level 1).

    Two runs on the same data, with the same anndata, h5py, HDF5 and zlib, write the same
    bytes.

    Parameters
    ----------
    adata
        The data to write.
    path
        The ``.h5ad`` file to (over)write.
    """
    adata.write_h5ad(path, compression=H5AD_COMPRESSION, compression_opts=H5AD_COMPRESSION_LEVEL)


def write_h5ad_streamed(adata: ad.AnnData, blocks: Iterable[Any], path: str | Path) -> None:
    """Write ``adata`` (without ``X``) then its ``X`` block by block (same compression).

    Only one block of ``X`` is in memory at a time: the CSR datasets are extended with
    :func:`anndata.io.sparse_dataset` ``append``, as in :func:`tmesig.simulate.write_h5ad_chunked`.
    ``indptr`` is 64-bit (anndata refuses to append past 2**31 values to a 32-bit one).

    Parameters
    ----------
    adata
        Everything but ``X`` (``X`` None; ``obs``, ``var``, ``obsm``, ``uns``...).
    blocks
        Consecutive CSR blocks of cells × all of ``adata``'s genes, in ``obs`` order.
    path
        The ``.h5ad`` file to (over)write.
    """
    if adata.X is not None:
        msg = "write_h5ad_streamed: pass the AnnData without X (X=None); X comes from blocks"
        raise ValueError(msg)
    write_h5ad_deterministic(adata, path)
    kwargs = {"compression": H5AD_COMPRESSION, "compression_opts": H5AD_COMPRESSION_LEVEL}
    rows = 0
    with h5py.File(path, "a") as handle:
        target = None
        for block in blocks:
            rows += block.shape[0]
            if target is None:  # a 64-bit indptr: more than 2**31 values may follow
                block = sp.csr_matrix(block)
                block.indptr = block.indptr.astype(np.int64)
                ad.io.write_elem(handle, "X", block, dataset_kwargs=kwargs)
                target = ad.io.sparse_dataset(handle["X"])
            else:
                target.append(block)
    if rows != adata.n_obs:
        msg = f"write_h5ad_streamed: blocks hold {rows} cells, the AnnData {adata.n_obs}"
        raise ValueError(msg)
