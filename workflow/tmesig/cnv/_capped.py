"""Copy number in bounded memory: profile a capped, lineage-stratified subset of each
sample's cells (all samples' capped cells together), transfer the calls to the other cells
by kNN in PCA space from the profiled cells of the same sample and lineage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmesig.constants import UNASSIGNED
from tmesig.io.kept_cells import read_rows

from ._call import CALLS, call_malignant
from ._options import CnvOptions

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["CnvCap", "call_malignant_capped", "capped_cells"]


@dataclass(frozen=True)
class CnvCap:
    """How many cells are profiled with infercnvpy; how the others get their call.

    Attributes
    ----------
    max_cells
        Most cells profiled per sample (lineage-stratified: every lineage of the sample
        keeps ``min(its cells, an equal share)``, the rest goes to the larger lineages).
    max_cells_total
        Most cells profiled in all: the per-sample cap becomes ``max_cells_total //
        n_samples`` when that is smaller, so memory does not grow with the number of
        samples. The capped cells of all samples are profiled together (one reference
        across samples, as uncapped: one sample's reference cells may be too few).
    n_neighbors
        Profiled neighbours that vote for a transferred cell's call (fewer, down to 3, when
        the cell's sample and lineage have fewer than ten times as many profiled cells, so
        that a group of a tenth of them can still win the vote).
    rep
        ``obsm`` key of the embedding used for the transfer (``X_pca`` of the clustering).
    seed
        Seed of the stratified draw.
    """

    max_cells: int = 3000
    max_cells_total: int = 30000
    n_neighbors: int = 15
    rep: str = "X_pca"
    seed: int = 0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CnvCap:
        """From the ``subsets`` config section (``cnv_max_cells``, ``cnv_max_cells_total``,
        ``seed``).

        Parameters
        ----------
        section
            The validated ``subsets`` section.

        Returns
        -------
        CnvCap
            The options.
        """
        return cls(
            max_cells=int(section.get("cnv_max_cells", cls.max_cells)),
            max_cells_total=int(section.get("cnv_max_cells_total", cls.max_cells_total)),
            seed=int(section.get("seed", cls.seed)),
        )


def _water_fill(sizes: np.ndarray, budget: int) -> np.ndarray:
    """Equal shares of ``budget`` over groups, small groups taking all their cells and
    leaving the rest to the others; leftovers below one per group go to the largest."""
    alloc = np.zeros(sizes.size, dtype=int)
    remaining = int(min(budget, sizes.sum()))
    while remaining > 0:
        open_ = np.flatnonzero(alloc < sizes)
        share = remaining // open_.size
        if share == 0:
            order = open_[np.argsort(-(sizes - alloc)[open_], kind="stable")]
            alloc[order[:remaining]] += 1
            break
        take = np.minimum(sizes[open_] - alloc[open_], share)
        alloc[open_] += take
        remaining -= int(take.sum())
    return alloc


def capped_cells(
    lineage: Sequence[str] | np.ndarray, sample: Sequence[str] | np.ndarray, *, cap: CnvCap
) -> np.ndarray:
    """Boolean mask of the cells to profile: per sample at most the cap, every lineage kept.

    Parameters
    ----------
    lineage
        Lineage per cell.
    sample
        Sample per cell.
    cap
        ``max_cells``, ``max_cells_total`` and ``seed``.

    Returns
    -------
    numpy.ndarray
        The mask (all True when no sample exceeds the cap); the same for the same inputs.
    """
    lin = np.asarray(lineage, dtype=object).astype(str)
    smp = np.asarray(sample, dtype=object).astype(str)
    samples = np.unique(smp)
    per_sample = max(1, min(cap.max_cells, cap.max_cells_total // max(samples.size, 1)))
    rng = np.random.default_rng(cap.seed)
    keep = np.zeros(lin.size, dtype=bool)
    for s in samples:
        in_s = smp == s
        lins, sizes = np.unique(lin[in_s], return_counts=True)
        alloc = _water_fill(sizes, per_sample)
        for name, k, size in zip(lins, alloc, sizes, strict=True):
            members = np.flatnonzero(in_s & (lin == name))
            keep[members if k == size else rng.choice(members, k, replace=False)] = True
    return keep


def call_malignant_capped(
    adata: ad.AnnData,
    *,
    lineage: pd.Series | Sequence[str],
    sample: pd.Series | Sequence[str],
    options: CnvOptions | None = None,
    cap: CnvCap | None = None,
) -> tuple[pd.DataFrame, ad.AnnData]:
    """:func:`tmesig.cnv.call_malignant` on a capped subset of cells, calls transferred.

    Parameters
    ----------
    adata
        Log-normalised expression (as for :func:`~tmesig.cnv.call_malignant`) and
        ``obsm[cap.rep]`` (``X_pca``) when the cap is hit. Not modified unless every cell is
        profiled (then as :func:`~tmesig.cnv.call_malignant`). Or a backed
        ``clustered.h5ad`` (:func:`tmesig.io.expression.read_expression` with
        ``backed=True``): only the profiled cells are read, log-normalised, never modified.
    lineage
        Lineage per cell.
    sample
        Sample per cell (calls are transferred inside a sample only).
    options
        CNV options (default :class:`CnvOptions()`).
    cap
        Cap and transfer options (default :class:`CnvCap()`).

    Returns
    -------
    calls : pandas.DataFrame
        :func:`~tmesig.cnv.call_malignant`'s table for every cell, plus ``cnv_profiled``
        (True: profiled with infercnvpy; False: transferred) and ``cnv_transfer_agreement``
        (share of the voting neighbours with the transferred call; NaN when profiled). A
        transferred cell gets the majority call, CNV cluster and clone of its
        ``n_neighbors`` nearest profiled cells of the same sample and lineage (of the same
        sample when its lineage has no profiled cell there) in ``obsm[cap.rep]``, and their
        mean ``cnv_score`` / ``cnv_corr``; it is never a reference cell. ``.attrs`` adds
        ``n_profiled``, ``n_transferred``, ``cnv_max_cells``, ``cnv_max_cells_total``.
    profiled : anndata.AnnData
        The profiled cells with ``obsm['X_cnv']`` and ``uns['cnv']`` (for the heatmap);
        ``adata`` itself when every cell was profiled (the cells read into memory when
        ``adata`` is backed).

    Raises
    ------
    ValueError
        The cap is hit and ``obsm[cap.rep]`` is missing, or misaligned labels.
    """
    opts = CnvOptions() if options is None else options
    cap = CnvCap() if cap is None else cap
    lin = _aligned(adata, lineage, "lineage")
    smp = _aligned(adata, sample, "sample")
    keep = capped_cells(lin, smp, cap=cap)
    if keep.all():
        if adata.isbacked:  # a backed file: the (few) cells in memory, log-normalised
            adata = read_rows(adata, np.arange(adata.n_obs))
        calls = call_malignant(adata, lineage=lin, options=opts)
        calls["cnv_profiled"] = True
        calls["cnv_transfer_agreement"] = np.nan
        calls.attrs.update(_cap_attrs(calls, cap))
        return calls, adata
    if cap.rep not in adata.obsm:
        msg = (
            f"obsm[{cap.rep!r}] is needed to transfer copy-number calls to the cells not "
            "profiled; run the clustering first (tmesig.cluster) or raise cnv_max_cells."
        )
        raise ValueError(msg)
    profiled = read_rows(adata, keep)  # only the capped cells are read from a backed file
    profiled = profiled.copy() if profiled.is_view else profiled
    part = call_malignant(profiled, lineage=lin[keep], options=opts)
    calls = _transfer(part, adata, lin, smp, keep, cap)
    calls.attrs.update(part.attrs)
    calls.attrs.update(_cap_attrs(calls, cap))
    other = ~lin.isin(list(opts.candidate_lineages)).to_numpy()
    malignant = (calls["cnv_call"].astype(str) == CALLS[0]).to_numpy()
    calls.attrs["n_malignant_other_lineage"] = int((malignant & other).sum())
    return calls, profiled


def _aligned(adata: ad.AnnData, labels: pd.Series | Sequence[str], what: str) -> pd.Series:
    if isinstance(labels, pd.Series):
        out = labels.reindex(adata.obs_names).astype(object).fillna(UNASSIGNED).astype(str)
    else:
        out = pd.Series(np.asarray(labels, dtype=object).astype(str), index=adata.obs_names)
    if len(out) != adata.n_obs:
        msg = f"{what} has {len(out)} labels for {adata.n_obs} cells; pass one per cell."
        raise ValueError(msg)
    return out


def _cap_attrs(calls: pd.DataFrame, cap: CnvCap) -> dict[str, int]:
    profiled = int(calls["cnv_profiled"].sum())
    return {
        "n_profiled": profiled,
        "n_transferred": len(calls) - profiled,
        "cnv_max_cells": cap.max_cells,
        "cnv_max_cells_total": cap.max_cells_total,
    }


def _votes(codes: np.ndarray, n_codes: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Majority code of each row's neighbours (ties: the nearer neighbours win) and its share."""
    k = idx.shape[1]
    votes = np.zeros((idx.shape[0], n_codes))
    weight = 1.0 + 1e-6 * (k - np.arange(k))[None, :].repeat(idx.shape[0], axis=0)
    rows = np.repeat(np.arange(idx.shape[0]), k)
    np.add.at(votes, (rows, codes[idx].ravel()), weight.ravel())
    best = votes.argmax(axis=1)
    share = (codes[idx] == best[:, None]).mean(axis=1)
    return best, share


def _neighbour_calls(
    part: pd.DataFrame,
    emb: np.ndarray,
    lin: np.ndarray,
    smp: np.ndarray,
    keep: np.ndarray,
    n_neighbors: int,
) -> dict[str, np.ndarray]:
    """Per transferred cell: majority call code, CNV cluster code, clone, mean score and
    correlation, share of agreeing neighbours (profiled neighbours of its sample and
    lineage, or of its sample when the lineage has none there)."""
    from sklearn.neighbors import NearestNeighbors

    n = keep.size
    src_idx = np.flatnonzero(keep)
    call = pd.Categorical(part["cnv_call"].astype(str), categories=list(CALLS)).codes
    cl_names, cl_codes = np.unique(part["cnv_cluster"].astype(str), return_inverse=True)
    clone = part["cnv_clone"].to_numpy(dtype=bool)
    cols = {
        "call": np.full(n, -1),
        "cluster": np.full(n, -1),
        "clone": np.zeros(n, dtype=bool),
        "score": np.full(n, np.nan),
        "corr": np.full(n, np.nan),
        "share": np.full(n, np.nan),
    }
    moved = np.flatnonzero(~keep)
    groups = pd.Series(moved).groupby([smp[moved], lin[moved]], sort=True)
    for (s, lv), targets in groups:
        src = np.flatnonzero((smp[src_idx] == s) & (lin[src_idx] == lv))
        if src.size == 0:
            src = np.flatnonzero(smp[src_idx] == s)
        if src.size == 0:  # pragma: no cover - every sample keeps >= 1 profiled cell
            src = np.arange(src_idx.size)
        # few profiled cells: fewer voters, so that a group of >= 10% of them can win
        k = min(n_neighbors, src.size, max(3, src.size // 10))
        nn = NearestNeighbors(n_neighbors=k).fit(emb[src_idx[src]])
        t = targets.to_numpy()
        idx = src[nn.kneighbors(emb[t], return_distance=False)]
        cols["call"][t], cols["share"][t] = _votes(call, len(CALLS), idx)
        cols["cluster"][t] = _votes(cl_codes, cl_names.size, idx)[0]
        cols["clone"][t] = clone[idx].mean(axis=1) > 0.5
        cols["score"][t] = part["cnv_score"].to_numpy()[idx].mean(axis=1)
        cols["corr"][t] = part["cnv_corr"].to_numpy()[idx].mean(axis=1)
    cols["cluster_names"] = cl_names
    return cols


def _transfer(
    part: pd.DataFrame,
    adata: ad.AnnData,
    lin: pd.Series,
    smp: pd.Series,
    keep: np.ndarray,
    cap: CnvCap,
) -> pd.DataFrame:
    """The profiled cells' calls, and the transferred calls of the others (see
    :func:`call_malignant_capped`)."""
    emb = np.asarray(adata.obsm[cap.rep], dtype=np.float64)
    cols = _neighbour_calls(part, emb, lin.to_numpy(), smp.to_numpy(), keep, cap.n_neighbors)
    moved = ~keep
    out = pd.DataFrame({"lineage": lin.to_numpy()}, index=adata.obs_names.copy())
    for name in ("is_reference", "removed_from_reference", "is_heldout_reference"):
        out[name] = False
        out.loc[keep, name] = part[name].to_numpy(dtype=bool)
    labels = np.empty(adata.n_obs, dtype=object)
    labels[keep] = part["cnv_cluster"].astype(str).to_numpy()
    labels[moved] = cols["cluster_names"][cols["cluster"][moved]]
    out["cnv_cluster"] = pd.Categorical(labels)
    out["cnv_clone"] = cols["clone"]
    out.loc[keep, "cnv_clone"] = part["cnv_clone"].to_numpy(dtype=bool)
    for name, key in (("cnv_score", "score"), ("cnv_corr", "corr")):
        out[name] = cols[key]
        out.loc[keep, name] = part[name].to_numpy()
    codes = cols["call"].copy()
    codes[keep] = pd.Categorical(part["cnv_call"].astype(str), categories=list(CALLS)).codes
    out["cnv_call"] = pd.Categorical.from_codes(codes, categories=list(CALLS))
    note = np.empty(adata.n_obs, dtype=object)
    note[keep] = part["note"].to_numpy()
    note[moved] = [
        f"transferred: majority of the nearest profiled cells of its sample and lineage "
        f"({share:.0%} agree)"
        for share in cols["share"][moved]
    ]
    out["note"] = note
    out["cnv_profiled"] = keep
    out["cnv_transfer_agreement"] = cols["share"]
    return out
