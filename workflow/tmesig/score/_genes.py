"""Gene statistics: means and detection in one pass, scanpy's expression bins and control
genes, the positions of each set's genes, and the coverage audit."""

from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numba
import numpy as np
import pandas as pd

from ..io.errors import InputError
from ..signatures import GeneSet
from ._chunks import DEFAULT_CHUNK, csr_parts, iter_csr


@numba.njit(cache=True)
def _accumulate_columns(indptr, indices, data, sums, nnz, nans):  # pragma: no cover - numba
    # Sequential in row order, accumulator in ``sums.dtype``: the same additions as
    # scipy's ``X.sum(axis=0, dtype="float64")`` on a CSR matrix, which multiplies by a
    # vector of ones in the matrix's own sum dtype (float32 for float32 data) and only
    # casts the result to float64. scanpy's gene means are computed that way.
    n_rows = indptr.shape[0] - 1
    for i in range(n_rows):
        for j in range(indptr[i], indptr[i + 1]):
            v = data[j]
            g = indices[j]
            if v != v:
                nans[g] += 1
                continue
            sums[g] += v
            if v != 0:
                nnz[g] += 1


@dataclass(frozen=True)
class GeneStats:
    """Per-gene statistics from one streaming pass over the cells.

    Attributes
    ----------
    means : ndarray of float64, shape (n_genes,)
        Mean over cells, computed as scanpy's ``score_genes`` does: the column sum in
        row order in scipy's sum dtype (float32 for float32 data), cast to float64 and
        divided by the number of cells.
    n_nonzero : ndarray of int64, shape (n_genes,)
        Cells with a non-zero value.
    n_cells : int
        Number of cells.
    """

    means: np.ndarray
    n_nonzero: np.ndarray
    n_cells: int


def gene_stats(adata: ad.AnnData, *, chunk_size: int = DEFAULT_CHUNK) -> GeneStats:
    """Gene means and detection counts in one streaming pass (bounded memory).

    Parameters
    ----------
    adata
        In-memory or backed AnnData; ``X`` sparse (CSR preferred) or dense.
    chunk_size
        Cells read at a time.

    Returns
    -------
    GeneStats
        ``means`` equal, bit for bit on sparse data, to the gene means scanpy's
        ``score_genes`` bins on.

    Raises
    ------
    InputError
        If ``X`` holds NaN values (scanpy would silently skip them; tmesig asks for
        clean input).
    """
    n_cells, n_genes = int(adata.n_obs), int(adata.n_vars)
    x = adata.X
    if isinstance(x, np.ndarray) and not adata.isbacked:
        # scanpy: np.nanmean over the dense matrix (in its dtype); reproduce it exactly.
        if np.isnan(x).any():
            msg = "adata.X contains NaN values; drop or fill them before scoring."
            raise InputError(msg)
        means = np.asarray(np.nanmean(x, axis=0), dtype=np.float64)
        return GeneStats(
            means=means, n_nonzero=np.count_nonzero(x, axis=0).astype(np.int64), n_cells=n_cells
        )
    # scipy sums float32 matrices in float32 (then casts), everything else in 64 bits
    acc = np.float32 if np.dtype(x.dtype) == np.float32 else np.float64
    sums = np.zeros(n_genes, dtype=acc)
    nnz = np.zeros(n_genes, dtype=np.int64)
    nans = np.zeros(n_genes, dtype=np.int64)
    for _, _, block in iter_csr(adata, chunk_size):
        indptr, indices, data = csr_parts(block)
        _accumulate_columns(indptr, indices, data.astype(acc, copy=False), sums, nnz, nans)
    if nans.any():
        msg = (
            f"adata.X contains NaN values in {int((nans > 0).sum())} gene(s); drop or fill "
            "them before scoring."
        )
        raise InputError(msg)
    means = sums.astype(np.float64) / n_cells if n_cells else np.full(n_genes, np.nan)
    return GeneStats(means=means, n_nonzero=nnz, n_cells=n_cells)


def _coverage_row(
    gs: GeneSet, present: set, expressed: set, *, min_coverage: float, min_genes: int
) -> dict:
    found = [g for g in gs.genes if g in present]
    missing = [g for g in gs.genes if g not in present]
    frac = len(found) / len(gs.genes) if gs.genes else 0.0
    n_expr = sum(g in expressed for g in found)
    return {
        "set": gs.name,
        "direction": gs.direction,
        "n_genes": len(gs.genes),
        "n_found": len(found),
        "fraction": round(frac, 4),
        "n_expressed": int(n_expr),
        **coverage_verdict(
            len(found), len(gs.genes), n_expr, min_coverage=min_coverage, min_genes=min_genes
        ),
        "genes_found": ",".join(found),
        "genes_missing": ",".join(missing),
    }


def coverage_verdict(
    n_found: int, n_genes: int, n_expressed: int, *, min_coverage: float, min_genes: int
) -> dict:
    """Whether a set is scored, and why not: the one rule behind ``coverage.tsv``.

    A set is scored when at least ``min_genes`` of its genes are found, the fraction found
    is at least ``min_coverage``, and a found gene is expressed in some cell. Every rule
    that fails is named in ``reason`` (``"; "``-separated), in that order, so 1 of 2, 1 of 3
    and 2 of 2 genes are judged by the same two numbers.

    Parameters
    ----------
    n_found
        Genes of the set present in the data.
    n_genes
        Genes in the set.
    n_expressed
        Found genes with a non-zero value in at least one cell.
    min_coverage
        Minimum fraction ``n_found / n_genes``.
    min_genes
        Minimum ``n_found``.

    Returns
    -------
    dict
        ``{"scored": bool, "reason": str}`` (``reason`` empty when scored).
    """
    frac = n_found / n_genes if n_genes else 0.0
    reasons = []
    if n_found < min_genes:
        reasons.append(f"{n_found} of {n_genes} genes found < min_genes {min_genes}")
    if frac < min_coverage:
        reasons.append(f"coverage {frac:.2f} < min_coverage {min_coverage:.2f}")
    if not reasons and n_expressed == 0:
        reasons.append("no gene of the set is expressed in any cell")
    return {"scored": not reasons, "reason": "; ".join(reasons)}


def coverage_table(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    min_coverage: float,
    min_genes: int = 3,
    chunk_size: int = DEFAULT_CHUNK,
    stats: GeneStats | None = None,
) -> pd.DataFrame:
    """Which genes of each set are in the data, and whether the set will be scored.

    Parameters
    ----------
    adata
        Data whose ``var_names`` are gene symbols (in memory or backed).
    sets
        Gene sets.
    min_coverage
        Minimum fraction of a set's genes that must be present for it to be scored.
    min_genes
        Minimum number of a set's genes that must be present for it to be scored (see
        :func:`coverage_verdict`).
    chunk_size
        Cells read at a time when counting expressing cells.
    stats
        Precomputed :func:`gene_stats` (saves one pass over the data).

    Returns
    -------
    DataFrame
        One row per set: ``set``, ``direction``, ``n_genes``, ``n_found``, ``fraction``,
        ``n_expressed`` (found genes with a non-zero value in at least one cell),
        ``scored``, ``reason`` (every rule the set fails), ``genes_found``,
        ``genes_missing``.
    """
    present = set(adata.var_names)
    if stats is None:
        stats = gene_stats(adata, chunk_size=chunk_size)
    expressed = set(adata.var_names[stats.n_nonzero > 0])
    rows = [
        _coverage_row(gs, present, expressed, min_coverage=min_coverage, min_genes=min_genes)
        for gs in sets
    ]
    return pd.DataFrame(rows)


def scanpy_bins(means: np.ndarray, *, n_bins: int = 25) -> np.ndarray:
    """Expression bin of every gene, exactly as :func:`scanpy.tl.score_genes` cuts them.

    Parameters
    ----------
    means
        Gene means (see :func:`gene_stats`), in ``var_names`` order.
    n_bins
        scanpy's ``n_bins``.

    Returns
    -------
    ndarray of float64, shape (n_genes,)
        ``rank(means, method="min") // round(n_genes / (n_bins - 1))``; NaN for genes with
        a non-finite mean (scanpy drops them from the pool).

    Raises
    ------
    InputError
        If ``n_bins < 2`` or there are too few genes for ``n_bins`` bins.
    """
    if n_bins < 2:
        msg = f"n_bins must be at least 2, got {n_bins}; scanpy's default is 25."
        raise InputError(msg)
    means = np.asarray(means, dtype=np.float64)
    finite = np.isfinite(means)
    n_items = int(np.round(finite.sum() / (n_bins - 1)))
    if n_items < 1:
        msg = (
            f"{int(finite.sum())} genes cannot be cut into {n_bins} expression bins; lower "
            "n_bins or score data with more genes."
        )
        raise InputError(msg)
    cuts = np.full(means.shape, np.nan)
    cuts[finite] = pd.Series(means[finite]).rank(method="min").to_numpy() // n_items
    return cuts


def scanpy_control_genes(
    set_idx: np.ndarray, cuts: np.ndarray, *, ctrl_size: int = 50, seed: int = 0
) -> np.ndarray:
    """Control genes of one set, drawn exactly as :func:`scanpy.tl.score_genes` draws them.

    scanpy seeds numpy's global legacy generator with ``random_state`` for every call, then
    for each expression bin holding a gene of the set (ascending) takes the bin's genes in
    ``var_names`` order and, when there are more than ``ctrl_size``, keeps
    ``ctrl_size`` of them through ``pandas.Series.sample`` (``RandomState.choice``
    without replacement); the set's own genes are then removed (``ctrl_as_ref=True``).

    Parameters
    ----------
    set_idx
        Positions (in ``var_names``) of the set's genes found in the data.
    cuts
        :func:`scanpy_bins` of all genes.
    ctrl_size
        Control genes per bin.
    seed
        scanpy's ``random_state``.

    Returns
    -------
    ndarray of int64
        Sorted positions of the control genes.
    """
    rs = np.random.RandomState(seed)
    set_idx = np.asarray(set_idx, dtype=np.int64)
    chosen = []
    for cut in np.unique(cuts[set_idx]):
        pool = np.flatnonzero(cuts == cut)
        if ctrl_size < len(pool):
            pool = pool[rs.choice(len(pool), size=ctrl_size, replace=False)]
        chosen.append(pool)
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.concatenate(chosen), set_idx).astype(np.int64)


def found_positions(adata: ad.AnnData, genes: Sequence[str]) -> np.ndarray:
    """Sorted positions in ``var_names`` of the ``genes`` present in the data."""
    idx = adata.var_names.get_indexer(pd.Index(list(genes)))
    return np.unique(idx[idx >= 0]).astype(np.int64)


def set_positions(adata: ad.AnnData, sets: Sequence[GeneSet]) -> dict[str, np.ndarray]:
    """``{set name: positions of its genes found in the data}``; every set needs one."""
    if adata.var_names.has_duplicates:
        msg = (
            "adata.var_names has duplicated gene symbols; make them unique "
            "(sum or drop duplicates)."
        )
        raise InputError(msg)
    names = [gs.name for gs in sets]
    if len(set(names)) != len(names):
        msg = "gene-set names are not unique; give every set a unique name."
        raise InputError(msg)
    out = {}
    for gs in sets:
        pos = found_positions(adata, gs.genes)
        if len(pos) == 0:
            msg = (
                f"set '{gs.name}': none of its genes is in var_names; drop the set or check "
                "the gene symbols (coverage_table lists what is missing)."
            )
            raise InputError(msg)
        out[gs.name] = pos
    return out
