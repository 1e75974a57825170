"""Scoring: one score per cell and gene set, with an audit of which genes were found.

Three methods, all chunked over cells so that a backed h5ad
(``anndata.read_h5ad(path, backed="r")``) is scored without loading or densifying it:

``mean_diff`` (default, :func:`score_mean_diff`)
    Scanpy's ``score_genes`` score (mean expression of the set minus the mean of
    expression-matched control genes), for every set in one pass. One streaming pass
    computes the gene means and scanpy's expression bins, control genes are drawn per set
    with exactly scanpy's procedure and random-number consumption (so the same ``seed``
    picks the same control genes as ``sc.tl.score_genes(..., random_state=seed)``), and a
    second pass computes one product ``X @ W`` for all sets (``W`` genes × sets holds
    ``+1/n_set`` on the set's genes and ``-1/n_ctrl`` on its control genes).
``rank`` (:func:`score_rank`)
    UCell's Mann–Whitney U score on per-cell gene ranks (top ``max_rank`` genes); it only
    depends on the order of genes within a cell, so counts and log-normalised data give
    the same score.
``scanpy``
    The reference: a loop of :func:`scanpy.tl.score_genes`, one call per set (in memory
    only).

:func:`null_group_means` calibrates the mean-difference score: for every set,
``n_null`` random sets matched in size and expression bin, scored in one product and
averaged per group of cells (e.g. compartment × sample), which is all an empirical
p-value per compartment needs and stays small whatever the number of cells.

A set whose fraction of genes found in the data is below ``min_coverage`` is not scored;
the coverage table says so.
"""

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anndata as ad
import numba
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from .signatures import GeneSet

__all__ = [
    "METHODS",
    "GeneStats",
    "NullGroupMeans",
    "coverage_table",
    "empirical_pvalues",
    "gene_stats",
    "null_group_means",
    "score_cells",
    "score_mean_diff",
    "score_rank",
    "scanpy_bins",
    "scanpy_control_genes",
]

#: Scoring methods accepted by :func:`score_cells`.
METHODS: tuple[str, ...] = ("mean_diff", "rank", "scanpy")

_DEFAULT_CHUNK = 50_000


# ----------------------------------------------------------------------------- chunking


def _n_obs_vars(adata: ad.AnnData) -> tuple[int, int]:
    return int(adata.n_obs), int(adata.n_vars)


def _check_chunk_size(chunk_size: int) -> None:
    if int(chunk_size) < 1:
        msg = f"chunk_size must be a positive number of cells, got {chunk_size}; pass e.g. 50_000."
        raise ValueError(msg)


def _iter_chunks(adata: ad.AnnData, chunk_size: int) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(start, stop, block)`` over consecutive cells.

    ``block`` is a CSR matrix for sparse data (in memory or backed) and a dense array for
    dense data. Nothing larger than one chunk is materialised.
    """
    _check_chunk_size(chunk_size)
    x = adata.X
    if x is None:
        msg = "adata.X is empty; put log-normalised expression (or counts for 'rank') in X."
        raise ValueError(msg)
    n = adata.n_obs
    for start in range(0, n, int(chunk_size)):
        stop = min(start + int(chunk_size), n)
        block = x[start:stop]
        if sp.issparse(block):
            block = sp.csr_matrix(block)
            if not block.has_canonical_format:
                block.sum_duplicates()
        else:
            block = np.asarray(block)
        yield start, stop, block


def _csr_parts(block: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = block.data
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    return block.indptr, block.indices, data


def _iter_csr(adata: ad.AnnData, chunk_size: int) -> Iterator[tuple[int, int, sp.csr_matrix]]:
    """Like :func:`_iter_chunks` but always CSR; an in-memory canonical CSR matrix is
    yielded whole, without a copy (it is in memory already)."""
    x = adata.X
    if (
        not adata.isbacked
        and isinstance(x, (sp.csr_matrix, sp.csr_array))
        and x.has_canonical_format
    ):
        _check_chunk_size(chunk_size)
        yield 0, adata.n_obs, x
        return
    for start, stop, block in _iter_chunks(adata, chunk_size):
        yield start, stop, block if sp.issparse(block) else sp.csr_matrix(block)


# ---------------------------------------------------------------------- numba kernels


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


@numba.njit(parallel=True, cache=True)
def _csr_sparse_product(indptr, indices, data, w_ptr, w_col, w_val, out):  # pragma: no cover
    # out += X @ W with W in gene-major CSR (w_ptr over genes): each stored value of X
    # touches only the (few) columns its gene has a weight in; float64 accumulation.
    n_rows = indptr.shape[0] - 1
    for i in numba.prange(n_rows):
        for j in range(indptr[i], indptr[i + 1]):
            g = indices[j]
            a = w_ptr[g]
            b = w_ptr[g + 1]
            if a == b:
                continue
            v = np.float64(data[j])
            for q in range(a, b):
                out[i, w_col[q]] += v * w_val[q]


@numba.njit(cache=True)
def _accumulate_groups(indptr, indices, data, codes, sums):  # pragma: no cover - numba
    n_rows = indptr.shape[0] - 1
    for i in range(n_rows):
        c = codes[i]
        if c < 0:
            continue
        for j in range(indptr[i], indptr[i + 1]):
            sums[c, indices[j]] += np.float64(data[j])


@numba.njit(parallel=True, cache=True)
def _rank_kernel(  # pragma: no cover - numba
    indptr, indices, data, n_genes, union, set_ptr, set_members, max_rank, out, n_threads
):
    """UCell U scores for every row of a CSR block.

    ``union``: gene indices used by any set; ``set_ptr``/``set_members``: CSR layout of
    the sets as positions into ``union``. Writes ``out[row, set]``; returns the number of
    negative values met (the caller refuses them).
    """
    n_rows = indptr.shape[0] - 1
    n_union = union.shape[0]
    n_sets = set_ptr.shape[0] - 1
    bad = np.zeros(n_threads, dtype=np.int64)
    step = (n_rows + n_threads - 1) // n_threads
    for t in numba.prange(n_threads):
        lo = t * step
        hi = min(n_rows, lo + step)
        value = np.zeros(n_genes, dtype=np.float64)
        rank_u = np.empty(n_union, dtype=np.float64)
        buf = np.empty(64, dtype=np.float64)
        for i in range(lo, hi):
            a, b = indptr[i], indptr[i + 1]
            if b - a > buf.shape[0]:
                buf = np.empty(2 * (b - a), dtype=np.float64)
            p = 0
            for j in range(a, b):
                v = np.float64(data[j])
                if v < 0:
                    bad[t] += 1
                if v > 0:
                    buf[p] = v
                    p += 1
                value[indices[j]] = v
            srt = np.sort(buf[:p])
            # implicit and explicit zeros share one tied (average) rank after the positives
            zero_rank = p + (n_genes - p + 1) / 2.0
            if zero_rank > max_rank:
                zero_rank = max_rank + 1.0
            for u in range(n_union):
                x = value[union[u]]
                if x > 0:
                    right = np.searchsorted(srt, x, side="right")
                    left = np.searchsorted(srt, x, side="left")
                    r = (p - right) + (right - left + 1) / 2.0
                    if r > max_rank:
                        r = max_rank + 1.0
                    rank_u[u] = r
                else:
                    rank_u[u] = zero_rank
            for s in range(n_sets):
                m = set_ptr[s + 1] - set_ptr[s]
                total = 0.0
                all_out = True
                for q in range(set_ptr[s], set_ptr[s + 1]):
                    r = rank_u[set_members[q]]
                    total += r
                    if r <= max_rank:
                        all_out = False
                if m == 0 or all_out:
                    out[i, s] = 0.0
                else:
                    u_stat = total - m * (m + 1) / 2.0
                    out[i, s] = 1.0 - u_stat / (m * max_rank)
            for j in range(a, b):
                value[indices[j]] = 0.0
    return bad.sum()


# ------------------------------------------------------------------------ gene stats


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


def gene_stats(adata: ad.AnnData, *, chunk_size: int = _DEFAULT_CHUNK) -> GeneStats:
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
    ValueError
        If ``X`` holds NaN values (scanpy would silently skip them; tmesig asks for
        clean input).
    """
    n_cells, n_genes = _n_obs_vars(adata)
    x = adata.X
    if isinstance(x, np.ndarray) and not adata.isbacked:
        # scanpy: np.nanmean over the dense matrix (in its dtype); reproduce it exactly.
        if np.isnan(x).any():
            msg = "adata.X contains NaN values; drop or fill them before scoring."
            raise ValueError(msg)
        means = np.asarray(np.nanmean(x, axis=0), dtype=np.float64)
        return GeneStats(
            means=means, n_nonzero=np.count_nonzero(x, axis=0).astype(np.int64), n_cells=n_cells
        )
    # scipy sums float32 matrices in float32 (then casts), everything else in 64 bits
    acc = np.float32 if np.dtype(x.dtype) == np.float32 else np.float64
    sums = np.zeros(n_genes, dtype=acc)
    nnz = np.zeros(n_genes, dtype=np.int64)
    nans = np.zeros(n_genes, dtype=np.int64)
    for _, _, block in _iter_csr(adata, chunk_size):
        indptr, indices, data = _csr_parts(block)
        _accumulate_columns(indptr, indices, data.astype(acc, copy=False), sums, nnz, nans)
    if nans.any():
        msg = (
            f"adata.X contains NaN values in {int((nans > 0).sum())} gene(s); drop or fill "
            "them before scoring."
        )
        raise ValueError(msg)
    means = sums.astype(np.float64) / n_cells if n_cells else np.full(n_genes, np.nan)
    return GeneStats(means=means, n_nonzero=nnz, n_cells=n_cells)


# -------------------------------------------------------------------------- coverage


def coverage_table(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    min_coverage: float,
    chunk_size: int = _DEFAULT_CHUNK,
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
    chunk_size
        Cells read at a time when counting expressing cells.
    stats
        Precomputed :func:`gene_stats` (saves one pass over the data).

    Returns
    -------
    DataFrame
        One row per set: ``set``, ``n_genes``, ``n_found``, ``fraction``, ``n_expressed``
        (found genes with a non-zero value in at least one cell), ``scored``, ``reason``,
        ``genes_found``, ``genes_missing``.
    """
    present = set(adata.var_names)
    if stats is None:
        stats = gene_stats(adata, chunk_size=chunk_size)
    expressed = set(adata.var_names[stats.n_nonzero > 0])
    rows = []
    for gs in sets:
        found = [g for g in gs.genes if g in present]
        missing = [g for g in gs.genes if g not in present]
        frac = len(found) / len(gs.genes) if gs.genes else 0.0
        n_expr = sum(g in expressed for g in found)
        if frac < min_coverage:
            scored, reason = False, f"coverage {frac:.2f} < min_coverage {min_coverage:.2f}"
        elif n_expr == 0:
            scored, reason = False, "no gene of the set is expressed in any cell"
        else:
            scored, reason = True, ""
        rows.append(
            {
                "set": gs.name,
                "direction": gs.direction,
                "n_genes": len(gs.genes),
                "n_found": len(found),
                "fraction": round(frac, 4),
                "n_expressed": int(n_expr),
                "scored": scored,
                "reason": reason,
                "genes_found": ",".join(found),
                "genes_missing": ",".join(missing),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------- scanpy's control genes


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
    """
    if n_bins < 2:
        msg = f"n_bins must be at least 2, got {n_bins}; scanpy's default is 25."
        raise ValueError(msg)
    means = np.asarray(means, dtype=np.float64)
    finite = np.isfinite(means)
    n_items = int(np.round(finite.sum() / (n_bins - 1)))
    if n_items < 1:
        msg = (
            f"{int(finite.sum())} genes cannot be cut into {n_bins} expression bins; lower "
            "n_bins or score data with more genes."
        )
        raise ValueError(msg)
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


def _found_positions(adata: ad.AnnData, genes: Sequence[str]) -> np.ndarray:
    idx = adata.var_names.get_indexer(pd.Index(list(genes)))
    return np.unique(idx[idx >= 0]).astype(np.int64)


def _set_positions(adata: ad.AnnData, sets: Sequence[GeneSet]) -> dict[str, np.ndarray]:
    if adata.var_names.has_duplicates:
        msg = "adata.var_names has duplicated gene symbols; make them unique (sum or drop duplicates)."
        raise ValueError(msg)
    names = [gs.name for gs in sets]
    if len(set(names)) != len(names):
        msg = "gene-set names are not unique; give every set a unique name."
        raise ValueError(msg)
    out = {}
    for gs in sets:
        pos = _found_positions(adata, gs.genes)
        if len(pos) == 0:
            msg = (
                f"set '{gs.name}': none of its genes is in var_names; drop the set or check "
                "the gene symbols (coverage_table lists what is missing)."
            )
            raise ValueError(msg)
        out[gs.name] = pos
    return out


def _mean_diff_weights(
    columns: Sequence[tuple[np.ndarray, np.ndarray]], n_genes: int
) -> np.ndarray:
    """Dense genes × columns weights: +1/n on set genes, -1/n_ctrl on control genes."""
    w = np.zeros((n_genes, len(columns)), dtype=np.float64)
    for k, (pos, ctrl) in enumerate(columns):
        w[pos, k] += 1.0 / len(pos)
        if len(ctrl):
            w[ctrl, k] -= 1.0 / len(ctrl)
    return w


def _product(adata: ad.AnnData, w: np.ndarray, *, chunk_size: int) -> np.ndarray:
    """``X @ w`` chunk by chunk (float64 accumulation), cells × columns."""
    out = np.zeros((adata.n_obs, w.shape[1]), dtype=np.float64)
    w_csr = sp.csr_matrix(w)
    w_parts = (
        w_csr.indptr.astype(np.int64),
        w_csr.indices.astype(np.int64),
        w_csr.data.astype(np.float64),
    )
    if not sp.issparse(adata.X) and not adata.isbacked:
        return np.asarray(adata.X, dtype=np.float64) @ w
    for start, stop, block in _iter_csr(adata, chunk_size):
        _csr_sparse_product(*_csr_parts(block), *w_parts, out[start:stop])
    return out


def score_mean_diff(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    seed: int = 0,
    chunk_size: int = _DEFAULT_CHUNK,
    stats: GeneStats | None = None,
) -> pd.DataFrame:
    """Scanpy's ``score_genes`` score for every set in one pass.

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` (all genes), symbols as ``var_names``; in
        memory or backed (``backed="r"``). Never densified.
    sets
        Gene sets; genes absent from the data are ignored (as scanpy does). Every set
        needs at least one gene in the data.
    ctrl_size, n_bins, seed
        As scanpy's ``ctrl_size``, ``n_bins`` and ``random_state``: with the same values
        the same control genes are chosen.
    chunk_size
        Cells per chunk; peak memory ≈ one chunk of ``X`` + the output.
    stats
        Precomputed :func:`gene_stats` (saves the first pass).

    Returns
    -------
    DataFrame
        Cells × sets (float64, index ``obs_names``, columns in the order of ``sets``).
        Equal to a per-set ``sc.tl.score_genes(adata, genes, ctrl_size=ctrl_size,
        n_bins=n_bins, random_state=seed)`` up to floating-point summation order
        (|Δ| < 1e-6 in practice).
    """
    positions = _set_positions(adata, sets)
    if stats is None:
        stats = gene_stats(adata, chunk_size=chunk_size)
    cuts = scanpy_bins(stats.means, n_bins=n_bins)
    columns = []
    for gs in sets:
        pos = positions[gs.name]
        pos = pos[np.isfinite(cuts[pos])]
        columns.append((pos, scanpy_control_genes(pos, cuts, ctrl_size=ctrl_size, seed=seed)))
    w = _mean_diff_weights(columns, adata.n_vars)
    out = _product(adata, w, chunk_size=chunk_size)
    frame = pd.DataFrame(out, index=adata.obs_names.copy(), columns=[gs.name for gs in sets])
    frame.index.name = "cell"
    return frame


# ------------------------------------------------------------------------ rank score


def _rank_layout(
    positions: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    union = np.unique(np.concatenate(positions)) if positions else np.zeros(0, np.int64)
    lookup = {int(g): u for u, g in enumerate(union)}
    ptr = np.zeros(len(positions) + 1, dtype=np.int64)
    members = []
    for k, pos in enumerate(positions):
        members.extend(lookup[int(g)] for g in pos)
        ptr[k + 1] = len(members)
    return union.astype(np.int64), ptr, np.asarray(members, dtype=np.int64)


def score_rank(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    max_rank: int = 1500,
    down_genes: Mapping[str, Sequence[str]] | None = None,
    w_neg: float = 1.0,
    chunk_size: int = _DEFAULT_CHUNK,
) -> pd.DataFrame:
    """UCell rank score (Andreatta & Carmona 2021) of every set, chunked over cells.

    Per cell, genes are ranked by expression, highest first, ties getting their average
    rank (UCell's ``ties.method="average"``; all zeros of a cell form one tie). Ranks above
    ``max_rank`` become ``max_rank + 1``. For a set of ``n`` genes found in the data with
    rank sum ``R``, ``U = R - n(n+1)/2`` (the Mann–Whitney U of the set against the other
    genes, counting pairs where the other gene is higher) and the score is
    ``1 - U / (n * max_rank)`` in ``[0, 1]``; a cell where none of the set's genes is in
    its top ``max_rank`` scores 0 (UCell's convention).

    With ``down_genes`` (UCell's signed signatures), the set's genes are its up-genes, the
    mapped genes its down-genes, and the score is ``max(0, U_up - w_neg * U_down)``, as
    UCell's ``w_neg``.

    Parameters
    ----------
    adata
        Non-negative expression in ``X`` (counts or log-normalised give the same score:
        a per-cell monotone transform keeps ranks); in memory or backed.
    sets
        Gene sets; genes absent from the data are ignored.
    max_rank
        Genes ranked beyond it count as ``max_rank + 1`` (UCell's ``maxRank``).
    down_genes
        Optional ``{set name: down-genes}``.
    w_neg
        Weight of the down-gene score.
    chunk_size
        Cells per chunk.

    Returns
    -------
    DataFrame
        Cells × sets (float64, index ``obs_names``).

    Raises
    ------
    ValueError
        If ``X`` holds negative values (scaled data: pass counts or log-normalised data),
        ``max_rank < 1``, or a down-gene mapping names an unknown set.
    """
    if int(max_rank) < 1:
        msg = f"max_rank must be >= 1, got {max_rank}; UCell's default is 1500."
        raise ValueError(msg)
    positions = _set_positions(adata, sets)
    down_genes = dict(down_genes or {})
    unknown = sorted(set(down_genes) - set(positions))
    if unknown:
        msg = f"down_genes names unknown set(s): {', '.join(unknown)}; use names of the given sets."
        raise ValueError(msg)
    cols = [positions[gs.name] for gs in sets]
    down_cols = []
    for gs in sets:
        if gs.name in down_genes:
            down_cols.append(_found_positions(adata, down_genes[gs.name]))
    layout = _rank_layout(cols + down_cols)
    n_threads = numba.get_num_threads()
    out = np.zeros((adata.n_obs, len(cols) + len(down_cols)), dtype=np.float64)
    for start, stop, block in _iter_csr(adata, chunk_size):
        indptr, indices, data = _csr_parts(block)
        bad = _rank_kernel(
            indptr,
            indices,
            data,
            adata.n_vars,
            *layout,
            float(max_rank),
            out[start:stop],
            n_threads,
        )
        if bad:
            msg = (
                "adata.X holds negative values (scaled data?); the rank score needs counts "
                "or log-normalised expression."
            )
            raise ValueError(msg)
    scores = out[:, : len(cols)]
    k = len(cols)
    for j, gs in enumerate(sets):
        if gs.name in down_genes:
            scores[:, j] = np.maximum(0.0, scores[:, j] - w_neg * out[:, k])
            k += 1
    frame = pd.DataFrame(scores, index=adata.obs_names.copy(), columns=[gs.name for gs in sets])
    frame.index.name = "cell"
    return frame


# ------------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class NullGroupMeans:
    """Observed and null mean-difference scores averaged per group of cells.

    Attributes
    ----------
    observed : DataFrame, groups × sets
        Mean score of each real set per group (equal to averaging
        :func:`score_mean_diff` over the group's cells).
    null : DataFrame, groups × (set, null)
        Mean score of each null set per group; columns are a MultiIndex
        ``(set, null)`` with ``null`` in ``0 .. n_null - 1``.
    n_cells : Series
        Cells per group.
    null_genes : dict
        ``{set: [array of gene positions of each null set]}`` (for audit).
    profile : DataFrame, groups × genes
        Mean expression of every gene per group (the pass that the scores are built from),
        e.g. to find the genes that drive a group's score.
    """

    observed: pd.DataFrame
    null: pd.DataFrame
    n_cells: pd.Series
    null_genes: dict
    profile: pd.DataFrame | None = None

    def null_array(self, set_name: str) -> np.ndarray:
        """Null means of one set as an array, groups × n_null."""
        return self.null[set_name].to_numpy()


def _group_codes(
    groups: pd.Series | pd.DataFrame, adata: ad.AnnData
) -> tuple[np.ndarray, pd.Index]:
    """Integer group code per cell (-1 = no label) and the sorted group labels."""
    if len(groups) != adata.n_obs:
        msg = f"groups has {len(groups)} rows for {adata.n_obs} cells; give one label per cell."
        raise ValueError(msg)
    if groups.index.isin(adata.obs_names).all() and not groups.index.equals(adata.obs_names):
        groups = groups.reindex(adata.obs_names)
    if isinstance(groups, pd.DataFrame):
        missing = groups.isna().any(axis=1).to_numpy()
        index = pd.MultiIndex.from_frame(groups.astype(str))
        codes, uniques = index.factorize(sort=True)
        codes = np.where(missing, -1, codes)
        used = np.unique(codes[codes >= 0])
        remap = np.full(len(uniques), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        labels = pd.MultiIndex.from_tuples([uniques[i] for i in used], names=list(groups.columns))
        return codes.astype(np.int64), labels
    codes, uniques = pd.factorize(groups, sort=True)
    return codes.astype(np.int64), pd.Index(uniques, name=groups.name)


def _draw_null(
    rng: np.random.Generator,
    pos: np.ndarray,
    cuts: np.ndarray,
    *,
    ctrl_size: int,
    pools: Mapping[float, np.ndarray] | None = None,
    candidates: Mapping[float, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One random set matched to ``pos`` bin by bin, and its scanpy-style controls.

    ``pools`` (bin → its genes) and ``candidates`` (bin → its genes not in ``pos``) may be
    precomputed once per set; the draws are the same with or without them.
    """
    if pools is None:
        pools = {cut: np.flatnonzero(cuts == cut) for cut in np.unique(cuts[np.isfinite(cuts)])}
    genes = []
    bins = cuts[pos]
    for cut in np.unique(bins):
        k = int((bins == cut).sum())
        pool = pools[cut]
        cands = candidates[cut] if candidates is not None else np.setdiff1d(pool, pos)
        if len(cands) < k:
            cands = pool
        genes.append(rng.choice(cands, size=min(k, len(cands)), replace=False))
    null = np.unique(np.concatenate(genes))
    ctrl = []
    for cut in np.unique(cuts[null]):
        pool = pools[cut]
        if ctrl_size < len(pool):
            pool = rng.choice(pool, size=ctrl_size, replace=False)
        ctrl.append(pool)
    return null, np.setdiff1d(np.concatenate(ctrl), null)


def null_group_means(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    groups: pd.Series | pd.DataFrame,
    n_null: int = 100,
    ctrl_size: int = 50,
    n_bins: int = 25,
    seed: int = 0,
    chunk_size: int = _DEFAULT_CHUNK,
    stats: GeneStats | None = None,
) -> NullGroupMeans:
    """Matched random sets per set, their mean-difference scores averaged per group.

    For every set, ``n_null`` random sets are drawn: for each expression bin (scanpy's
    bins, :func:`scanpy_bins`) as many genes as the set has in that bin, from the bin's
    other genes, each null set with its own control genes drawn as scanpy does. The
    mean-difference score is linear in expression, so the mean score of a group of cells
    equals the score of the group's mean expression profile: one streaming pass
    accumulates per-group expression sums (groups × genes) and one sparse product with
    the weights of all sets and all null sets gives every group mean. Memory is
    ``groups × genes`` + ``genes × sets × (n_null + 1)`` sparse weights, independent of
    the number of cells. Any linear contrast of groups (e.g. a compartment against the
    other compartments of the same sample) can be formed from these means.

    Parameters
    ----------
    adata
        Log-normalised expression (in memory or backed).
    sets
        Gene sets (each with at least one gene in the data).
    groups
        Group label per cell (a Series aligned to ``obs_names``, e.g. compartment + "|" +
        sample), or a DataFrame of several label columns (e.g. ``compartment``,
        ``sample``) giving a MultiIndex of groups. Cells with a missing label are
        skipped.
    n_null
        Null sets per set.
    ctrl_size, n_bins
        As in :func:`score_mean_diff`.
    seed
        Seeds the null draws; each set has its own stream (from ``seed`` and the set
        name), so adding a set does not change the others' nulls.
    chunk_size
        Cells per chunk.
    stats
        Precomputed :func:`gene_stats`.

    Returns
    -------
    NullGroupMeans
        ``observed`` groups × sets, ``null`` groups × (set, null) with
        ``n_sets * n_null`` columns, ``n_cells`` per group.
    """
    if int(n_null) < 1:
        msg = f"n_null must be >= 1, got {n_null}; 100 is the default."
        raise ValueError(msg)
    positions = _set_positions(adata, sets)
    codes, labels = _group_codes(groups, adata)
    if stats is None:
        stats = gene_stats(adata, chunk_size=chunk_size)
    cuts = scanpy_bins(stats.means, n_bins=n_bins)
    columns: list[tuple[np.ndarray, np.ndarray]] = []
    null_genes: dict[str, list[np.ndarray]] = {}
    pools = {cut: np.flatnonzero(cuts == cut) for cut in np.unique(cuts[np.isfinite(cuts)])}
    for gs in sets:
        pos = positions[gs.name]
        pos = pos[np.isfinite(cuts[pos])]
        columns.append((pos, scanpy_control_genes(pos, cuts, ctrl_size=ctrl_size, seed=seed)))
    for gs in sets:
        pos = positions[gs.name]
        pos = pos[np.isfinite(cuts[pos])]
        rng = np.random.default_rng([int(seed), zlib.crc32(gs.name.encode())])
        cands = {cut: np.setdiff1d(pools[cut], pos) for cut in np.unique(cuts[pos])}
        draws = [
            _draw_null(rng, pos, cuts, ctrl_size=ctrl_size, pools=pools, candidates=cands)
            for _ in range(int(n_null))
        ]
        null_genes[gs.name] = [d[0] for d in draws]
        columns.extend(draws)
    n_groups = len(labels)
    sums = np.zeros((n_groups, adata.n_vars), dtype=np.float64)
    for start, stop, block in _iter_csr(adata, chunk_size):
        _accumulate_groups(*_csr_parts(block), codes[start:stop], sums)
    n_cells = np.bincount(codes[codes >= 0], minlength=n_groups)
    profile = sums / np.maximum(n_cells, 1)[:, None]
    # one sparse weight matrix for all sets and all null sets
    rows, cols, vals = [], [], []
    for k, (pos, ctrl) in enumerate(columns):
        rows.extend([pos, ctrl])
        cols.extend([np.full(len(pos), k), np.full(len(ctrl), k)])
        vals.extend(
            [np.full(len(pos), 1.0 / len(pos)), np.full(len(ctrl), -1.0 / max(len(ctrl), 1))]
        )
    w = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(adata.n_vars, len(columns)),
    )
    means = np.asarray((w.T @ profile.T).T)
    names = [gs.name for gs in sets]
    observed = pd.DataFrame(means[:, : len(sets)], index=labels, columns=names)
    null_cols = pd.MultiIndex.from_product([names, range(int(n_null))], names=["set", "null"])
    null = pd.DataFrame(means[:, len(sets) :], index=labels, columns=null_cols)
    return NullGroupMeans(
        observed=observed,
        null=null,
        n_cells=pd.Series(n_cells, index=labels, name="n_cells"),
        null_genes=null_genes,
        profile=pd.DataFrame(profile, index=labels, columns=adata.var_names),
    )


def empirical_pvalues(
    observed: pd.DataFrame, null: pd.DataFrame, sets: Sequence[GeneSet]
) -> pd.DataFrame:
    """One-sided empirical p-values of observed group statistics against their nulls.

    Parameters
    ----------
    observed
        Groups (or contrasts) × sets.
    null
        Same rows × (set, null) MultiIndex columns, the same statistic computed for the
        null sets (e.g. :attr:`NullGroupMeans.null`, or a contrast of it).
    sets
        The sets, for their direction: ``up`` tests high values, ``down`` low values.

    Returns
    -------
    DataFrame
        Same shape as ``observed``: ``(1 + #{null at least as extreme}) / (1 + n_null)``.
    """
    direction = {gs.name: gs.direction for gs in sets}
    out = pd.DataFrame(index=observed.index, columns=observed.columns, dtype=float)
    for name in observed.columns:
        obs = observed[name].to_numpy()[:, None]
        nul = null[name].to_numpy()
        sign = -1.0 if direction.get(name, "up") == "down" else 1.0
        hits = (sign * nul >= sign * obs).sum(axis=1)
        out[name] = (1.0 + hits) / (1.0 + nul.shape[1])
    return out


# --------------------------------------------------------------------- score_cells


def _score_scanpy(
    adata: ad.AnnData,
    coverage: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    ctrl_size: int,
    n_bins: int,
    seed: int,
) -> pd.DataFrame:
    if adata.isbacked:
        msg = (
            "method='scanpy' needs the matrix in memory (scanpy cannot score backed data); "
            "use method='mean_diff', which gives the same numbers in bounded memory."
        )
        raise ValueError(msg)
    work = ad.AnnData(
        X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names)
    )
    columns: dict[str, np.ndarray] = {}
    for gs, row in zip(sets, coverage.itertuples(index=False), strict=True):
        if not row.scored:
            continue
        sc.tl.score_genes(
            work,
            gene_list=row.genes_found.split(","),
            ctrl_size=ctrl_size,
            n_bins=n_bins,
            random_state=seed,
            score_name="_score",
            use_raw=False,
        )
        columns[gs.name] = work.obs["_score"].to_numpy(dtype=np.float64)
    return pd.DataFrame(columns, index=adata.obs_names.copy())


def score_cells(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    method: Literal["mean_diff", "rank", "scanpy"] = "mean_diff",
    min_coverage: float = 0.5,
    ctrl_size: int = 50,
    n_bins: int = 25,
    seed: int = 0,
    max_rank: int = 1500,
    down_genes: Mapping[str, Sequence[str]] | None = None,
    chunk_size: int = _DEFAULT_CHUNK,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every cell for every set that passes the coverage audit.

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` (all genes), symbols as ``var_names``; in
        memory or backed (``anndata.read_h5ad(path, backed="r")``, not for ``scanpy``).
    sets
        Gene sets (see :func:`tmesig.signatures.load_library`).
    method
        ``"mean_diff"`` (default; :func:`score_mean_diff`, scanpy's numbers, one pass),
        ``"rank"`` (:func:`score_rank`, UCell) or ``"scanpy"`` (the reference loop of
        :func:`scanpy.tl.score_genes`).
    min_coverage
        Sets with a smaller fraction of their genes present are reported and not scored.
    ctrl_size, n_bins, seed
        Control-gene parameters of ``mean_diff`` and ``scanpy`` (``random_state=seed``).
    max_rank, down_genes
        Parameters of ``rank``.
    chunk_size
        Cells per chunk (``mean_diff`` and ``rank``).

    Returns
    -------
    scores, coverage
        ``scores``: cells × scored sets (float32, index ``obs_names`` named ``cell``), with
        ``scores.attrs["tmesig_score"]`` recording the method and its parameters;
        ``coverage``: see :func:`coverage_table`.
    """
    if method not in METHODS:
        msg = f"unknown scoring method '{method}'; use one of {', '.join(METHODS)}."
        raise ValueError(msg)
    stats = gene_stats(adata, chunk_size=chunk_size)
    coverage = coverage_table(adata, sets, min_coverage=min_coverage, stats=stats)
    scored = [gs for gs, ok in zip(sets, coverage["scored"], strict=True) if ok]
    params: dict[str, Any] = {"method": method, "min_coverage": min_coverage}
    if not scored:
        raw = pd.DataFrame(index=adata.obs_names.copy())
    elif method == "mean_diff":
        raw = score_mean_diff(
            adata,
            scored,
            ctrl_size=ctrl_size,
            n_bins=n_bins,
            seed=seed,
            chunk_size=chunk_size,
            stats=stats,
        )
    elif method == "rank":
        down = {k: v for k, v in (down_genes or {}).items() if k in {gs.name for gs in scored}}
        raw = score_rank(adata, scored, max_rank=max_rank, down_genes=down, chunk_size=chunk_size)
    else:
        raw = _score_scanpy(adata, coverage, sets, ctrl_size=ctrl_size, n_bins=n_bins, seed=seed)
    if method in ("mean_diff", "scanpy"):
        params.update(ctrl_size=ctrl_size, n_bins=n_bins, seed=seed)
    else:
        params.update(max_rank=max_rank, down_genes=sorted(down_genes or {}))
    scores = raw.astype(np.float32)
    scores.index.name = "cell"
    scores.attrs["tmesig_score"] = params
    return scores, coverage
