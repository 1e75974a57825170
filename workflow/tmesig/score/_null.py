"""Calibration of the mean-difference score: expression-matched random sets, averaged per
group of cells in one pass."""

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anndata as ad
import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..signatures import GeneSet
from ._chunks import csr_parts, iter_csr
from ._genes import GeneStats, gene_stats, scanpy_bins, set_positions
from ._mean_diff import set_columns
from ._null_batches import NullSampler
from ._options import ScoreOptions


@numba.njit(cache=True)
def _accumulate_groups(indptr, indices, data, codes, sums):  # pragma: no cover - numba
    n_rows = indptr.shape[0] - 1
    for i in range(n_rows):
        c = codes[i]
        if c < 0:
            continue
        for j in range(indptr[i], indptr[i + 1]):
            sums[c, indices[j]] += np.float64(data[j])


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
    sampler : NullSampler, optional
        Draws and scores further null sets from ``profile`` without reading the matrix
        (:class:`tmesig.score.NullSampler`; used by sequential Monte Carlo p-values).
    """

    observed: pd.DataFrame
    null: pd.DataFrame
    n_cells: pd.Series
    null_genes: dict
    profile: pd.DataFrame | None = None
    sampler: NullSampler | None = None

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


def _null_columns(
    positions: Mapping[str, np.ndarray],
    sets: Sequence[GeneSet],
    cuts: np.ndarray,
    *,
    n_null: int,
    ctrl_size: int,
    seed: int,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, list[np.ndarray]]]:
    """``n_null`` (null genes, control genes) per set, set after set; and the null genes."""
    columns: list[tuple[np.ndarray, np.ndarray]] = []
    null_genes: dict[str, list[np.ndarray]] = {}
    pools = {cut: np.flatnonzero(cuts == cut) for cut in np.unique(cuts[np.isfinite(cuts)])}
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
    return columns, null_genes


def _group_profiles(
    adata: ad.AnnData, codes: np.ndarray, n_groups: int, *, chunk_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean expression per group (groups × genes) in one pass, and the cells per group."""
    sums = np.zeros((n_groups, adata.n_vars), dtype=np.float64)
    for start, stop, block in iter_csr(adata, chunk_size):
        _accumulate_groups(*csr_parts(block), codes[start:stop], sums)
    n_cells = np.bincount(codes[codes >= 0], minlength=n_groups)
    return sums / np.maximum(n_cells, 1)[:, None], n_cells


def _sparse_weights(
    columns: Sequence[tuple[np.ndarray, np.ndarray]], n_genes: int
) -> sp.csc_matrix:
    """Sparse genes × columns weights: +1/n on set genes, -1/n_ctrl on control genes."""
    rows, cols, vals = [], [], []
    for k, (pos, ctrl) in enumerate(columns):
        rows.extend([pos, ctrl])
        cols.extend([np.full(len(pos), k), np.full(len(ctrl), k)])
        vals.extend(
            [np.full(len(pos), 1.0 / len(pos)), np.full(len(ctrl), -1.0 / max(len(ctrl), 1))]
        )
    return sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_genes, len(columns)),
    )


def null_group_means(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    groups: pd.Series | pd.DataFrame,
    n_null: int = 100,
    options: ScoreOptions | None = None,
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
    options
        :class:`ScoreOptions`; ``ctrl_size`` and ``n_bins`` as in :func:`score_mean_diff`,
        ``seed`` seeds the null draws (each set has its own stream, from ``seed`` and the
        set name, so adding a set does not change the others' nulls), ``chunk_size``
        cells per chunk. The other fields are not used.
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
    opts = options if options is not None else ScoreOptions()
    positions = set_positions(adata, sets)
    codes, labels = _group_codes(groups, adata)
    if stats is None:
        stats = gene_stats(adata, chunk_size=opts.chunk_size)
    cuts = scanpy_bins(stats.means, n_bins=opts.n_bins)
    columns = set_columns(positions, sets, cuts, ctrl_size=opts.ctrl_size, seed=opts.seed)
    nulls, null_genes = _null_columns(
        positions, sets, cuts, n_null=n_null, ctrl_size=opts.ctrl_size, seed=opts.seed
    )
    profile, n_cells = _group_profiles(adata, codes, len(labels), chunk_size=opts.chunk_size)
    w = _sparse_weights(columns + nulls, adata.n_vars)
    means = np.asarray((w.T @ profile.T).T)
    names = [gs.name for gs in sets]
    binned = {gs.name: col[0] for gs, col in zip(sets, columns, strict=True)}  # binned genes
    sampler = NullSampler(profile, labels, cuts, binned, ctrl_size=opts.ctrl_size, seed=opts.seed)
    null_cols = pd.MultiIndex.from_product([names, range(int(n_null))], names=["set", "null"])
    return NullGroupMeans(
        observed=pd.DataFrame(means[:, : len(sets)], index=labels, columns=names),
        null=pd.DataFrame(means[:, len(sets) :], index=labels, columns=null_cols),
        n_cells=pd.Series(n_cells, index=labels, name="n_cells"),
        null_genes=null_genes,
        profile=pd.DataFrame(profile, index=labels, columns=adata.var_names),
        sampler=sampler,
    )
