"""The rank score: UCell's Mann–Whitney U on per-cell gene ranks, one numba pass."""

from collections.abc import Mapping, Sequence

import anndata as ad
import numba
import numpy as np
import pandas as pd

from ..io.errors import InputError
from ..signatures import GeneSet
from ._chunks import DEFAULT_CHUNK, csr_parts, iter_csr
from ._genes import found_positions, set_positions


# The set layout travels as one tuple of three int64 arrays (unpacked once on entry, no
# cost in the loops) so that the kernel keeps at most eight arguments.
@numba.njit(parallel=True, cache=True)
def _rank_kernel(  # pragma: no cover - numba
    indptr, indices, data, n_genes, layout, max_rank, out, n_threads
):
    """UCell U scores for every row of a CSR block.

    ``layout`` = ``(union, set_ptr, set_members)``: ``union`` the gene indices used by any
    set; ``set_ptr``/``set_members`` the CSR layout of the sets as positions into
    ``union``. Writes ``out[row, set]``; returns the number of negative values met (the
    caller refuses them).
    """
    union, set_ptr, set_members = layout
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


def _rank_columns(
    adata: ad.AnnData, sets: Sequence[GeneSet], down_genes: Mapping[str, Sequence[str]]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gene positions of every set, then of the down-genes of the sets that have them."""
    positions = set_positions(adata, sets)
    unknown = sorted(set(down_genes) - set(positions))
    if unknown:
        msg = f"down_genes names unknown set(s): {', '.join(unknown)}; use names of the given sets."
        raise ValueError(msg)
    cols = [positions[gs.name] for gs in sets]
    down_cols = []
    for gs in sets:
        if gs.name in down_genes:
            down_cols.append(found_positions(adata, down_genes[gs.name]))
    return cols, down_cols


def _u_scores(
    adata: ad.AnnData, columns: list[np.ndarray], *, max_rank: int, chunk_size: int
) -> np.ndarray:
    """UCell scores of every column (a gene-position array) for every cell."""
    layout = _rank_layout(columns)
    n_threads = numba.get_num_threads()
    out = np.zeros((adata.n_obs, len(columns)), dtype=np.float64)
    for start, stop, block in iter_csr(adata, chunk_size):
        indptr, indices, data = csr_parts(block)
        bad = _rank_kernel(
            indptr,
            indices,
            data,
            adata.n_vars,
            layout,
            float(max_rank),
            out[start:stop],
            n_threads,
        )
        if bad:
            msg = (
                "adata.X holds negative values (scaled data?); the rank score needs counts "
                "or log-normalised expression."
            )
            raise InputError(msg)
    return out


def score_rank(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    max_rank: int = 1500,
    down_genes: Mapping[str, Sequence[str]] | None = None,
    w_neg: float = 1.0,
    chunk_size: int = DEFAULT_CHUNK,
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
    InputError
        If ``X`` holds negative values (scaled data: pass counts or log-normalised data).
    ValueError
        If ``max_rank < 1``, or a down-gene mapping names an unknown set.
    """
    if int(max_rank) < 1:
        msg = f"max_rank must be >= 1, got {max_rank}; UCell's default is 1500."
        raise ValueError(msg)
    down_genes = dict(down_genes or {})
    cols, down_cols = _rank_columns(adata, sets, down_genes)
    out = _u_scores(adata, cols + down_cols, max_rank=max_rank, chunk_size=chunk_size)
    scores = out[:, : len(cols)]
    k = len(cols)
    for j, gs in enumerate(sets):
        if gs.name in down_genes:
            scores[:, j] = np.maximum(0.0, scores[:, j] - w_neg * out[:, k])
            k += 1
    frame = pd.DataFrame(scores, index=adata.obs_names.copy(), columns=[gs.name for gs in sets])
    frame.index.name = "cell"
    return frame
