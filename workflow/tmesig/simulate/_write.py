"""Simulated datasets as an in-memory AnnData or an h5ad file written chunk by chunk."""

from pathlib import Path

import anndata as ad
import h5py
import scipy.sparse as sp

from ._design import design
from ._sampling import log_normalise

__all__ = ["simulate", "write_h5ad_chunked"]


def simulate(
    n_cells: int = 5_000,
    *,
    lognorm: bool = False,
    chunk_size: int = 20_000,
    **kwargs,
) -> ad.AnnData:
    """Simulate an in-memory AnnData (CSR, float32).

    Parameters
    ----------
    n_cells
        Number of cells.
    lognorm
        False: ``X`` holds counts. True: ``X`` holds ``log1p`` of counts per 10,000 and
        ``layers["counts"]`` the counts.
    chunk_size
        Cells generated at a time.
    **kwargs
        Passed to :func:`design` (``n_genes``, ``n_patients``, ``programs``, ``seed``...).

    Returns
    -------
    AnnData
        Cells × genes with the truth in ``obs`` and ``uns["simulation"]``.
    """
    sim = design(n_cells, **kwargs)
    counts = sp.vstack(list(sim.chunks(chunk_size=chunk_size)), format="csr")
    adata = ad.AnnData(X=counts, obs=sim.obs.copy(), var=sim.var.copy(), uns=sim.uns)
    if lognorm:
        adata.layers["counts"] = counts
        adata.X = log_normalise(counts)
    return adata


def write_h5ad_chunked(
    path: str | Path,
    n_cells: int,
    *,
    lognorm: bool = True,
    chunk_size: int = 20_000,
    **kwargs,
) -> Path:
    """Write a simulated dataset to an h5ad file chunk by chunk (bounded memory).

    ``obs``, ``var`` and ``uns`` are written first, then ``X`` as a CSR group whose
    datasets are extended chunk by chunk (:func:`anndata.io.sparse_dataset` ``append``),
    so peak memory is one chunk plus ``obs`` whatever ``n_cells``.

    Parameters
    ----------
    path
        Output ``.h5ad``.
    n_cells
        Number of cells.
    lognorm
        True (default): ``X`` is ``log1p`` of counts per 10,000; False: counts.
    chunk_size
        Cells generated and written at a time.
    **kwargs
        Passed to :func:`design`.

    Returns
    -------
    Path
        The written file; ``anndata.read_h5ad(path, backed="r")`` opens it.
    """
    path = Path(path)
    sim = design(n_cells, **kwargs)
    shell = ad.AnnData(obs=sim.obs, var=sim.var, uns=sim.uns)
    shell.uns["simulation"]["x"] = "lognorm" if lognorm else "counts"
    shell.write_h5ad(path)
    with h5py.File(path, "a") as handle:
        if "X" in handle:
            del handle["X"]
        first = True
        for block in sim.chunks(chunk_size=chunk_size, lognorm=lognorm):
            if first:
                # anndata creates the CSR datasets resizable (maxshape=(None,))
                ad.io.write_elem(handle, "X", block)
                target = ad.io.sparse_dataset(handle["X"])
                first = False
            else:
                target.append(block)
    return path
