"""Malignant calls from CNV profiles: held-out reference, CNV clusters, thresholds, calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.constants import MALIGNANT, UNASSIGNED
from tmesig.io.errors import InputError

from ._options import CnvOptions
from ._positions import add_gene_positions
from ._profiles import cnv_profiles

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["CALLS", "call_malignant"]

#: The calls, in category order.
CALLS = (MALIGNANT, "non-malignant", "uncertain")


@dataclass(frozen=True)
class _Thresholds:
    score: float
    corr: float
    strong_score: float
    strong_corr: float


@dataclass(frozen=True)
class _Cells:
    """Per-cell masks: reference, held-out reference, candidate."""

    ref: np.ndarray
    heldout: np.ndarray
    candidate: np.ndarray

    @property
    def baseline(self) -> np.ndarray:
        return self.ref & ~self.heldout


def call_malignant(
    adata: ad.AnnData,
    *,
    lineage: pd.Series | Sequence[str],
    reference: np.ndarray | pd.Series | None = None,
    candidates: np.ndarray | None = None,
    options: CnvOptions | None = None,
) -> pd.DataFrame:
    """Call malignant cells from inferred copy number (see :mod:`tmesig.cnv`).

    Parameters
    ----------
    adata
        Log-normalised expression (``log1p`` of normalised counts; for TPM data use
        ``log1p(TPM / 10)``) in ``X`` or ``options.layer``; ``var_names`` gene symbols. Gene
        positions are added with :func:`tmesig.cnv.add_gene_positions` unless ``var`` has
        them. Modified in place: ``obsm['X_cnv']``, ``uns['cnv']``, ``obsm['X_cnv_pca']``.
    lineage
        Lineage per cell (``cells["compartment"]`` of :func:`tmesig.annotate.annotate`).
    reference
        Optional boolean mask of reference cells; default: lineage in
        ``options.reference_lineages``.
    candidates
        Optional boolean mask of candidate cells overriding ``options.candidate_lineages``
        (for non-epithelial tumours, e.g. glioma: every non-reference cell).
    options
        infercnvpy, clustering and threshold options (default :class:`CnvOptions()`).

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``; columns ``lineage``, ``is_reference``, ``is_heldout_reference``,
        ``cnv_cluster``, ``cnv_score``, ``cnv_corr``, ``cnv_call`` (``malignant`` /
        ``non-malignant`` / ``uncertain``), ``note``. ``.attrs``: ``score_threshold``,
        ``corr_threshold``, ``strong_score_threshold``, ``strong_corr``, ``n_mads``,
        ``n_reference``, ``n_heldout_reference``, ``window_size``, ``seconds``.

    Raises
    ------
    ValueError
        Misaligned ``lineage`` / ``reference``.
    InputError
        Too few reference cells.
    """
    t0 = time.perf_counter()
    opts = CnvOptions() if options is None else options
    lin = _lineage_series(adata, lineage)
    ref = _reference_mask(adata, lin, reference, opts)
    # Hold out a seeded random half of the reference cells (per group) to calibrate the
    # thresholds: cells that defined the baseline are biased towards zero.
    groups = lin.to_numpy() if reference is None else np.full(adata.n_obs, "reference")
    heldout = _held_out(ref, groups, seed=opts.seed)
    x = _cnv_matrix(adata, ref & ~heldout, groups, opts)
    codes = _cnv_clusters(adata, x, opts)

    score = np.abs(x).mean(axis=1)
    corr = _loo_cluster_corr(x, codes)
    corr = np.nan_to_num(corr, nan=0.0)
    thr = _thresholds(score[heldout], corr[heldout], opts)
    candidate = _candidate_mask(lin, candidates, ref, opts)
    cells = _Cells(ref=ref, heldout=heldout, candidate=candidate)
    call, note = _call_cells(score, corr, thr, cells, lin.to_numpy())

    out = pd.DataFrame(
        {
            "lineage": lin.to_numpy(),
            "is_reference": ref,
            "is_heldout_reference": heldout,
            "cnv_cluster": pd.Categorical([str(c) for c in codes]),
            "cnv_score": score,
            "cnv_corr": corr,
            "cnv_call": pd.Categorical(call, categories=list(CALLS)),
            "note": note,
        },
        index=adata.obs_names.copy(),
    )
    out.attrs.update(_attrs(thr, cells, opts))
    out.attrs["seconds"] = time.perf_counter() - t0
    return out


def _cnv_matrix(
    adata: ad.AnnData, baseline: np.ndarray, groups: np.ndarray, opts: CnvOptions
) -> np.ndarray:
    """Gene positions, then infercnvpy's profiles against ``baseline`` as a dense matrix."""
    add_gene_positions(adata)
    cnv_profiles(adata, baseline, reference_groups=groups, options=opts)
    x = adata.obsm["X_cnv"]
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def _attrs(thr: _Thresholds, cells: _Cells, opts: CnvOptions) -> dict[str, float | int]:
    """Thresholds and counts stored in the result's ``.attrs`` (``seconds`` comes last)."""
    return {
        "score_threshold": thr.score,
        "corr_threshold": thr.corr,
        "strong_score_threshold": thr.strong_score,
        "strong_corr": thr.strong_corr,
        "n_mads": opts.n_mads,
        "n_reference": int(cells.ref.sum()),
        "n_heldout_reference": int(cells.heldout.sum()),
        "window_size": opts.window_size,
    }


def _lineage_series(adata: ad.AnnData, lineage: pd.Series | Sequence[str]) -> pd.Series:
    if isinstance(lineage, pd.Series):
        lin = lineage.reindex(adata.obs_names).astype(object).fillna(UNASSIGNED).astype(str)
    else:
        lin = pd.Series(np.asarray(lineage, dtype=str), index=adata.obs_names)
    if len(lin) != adata.n_obs:
        msg = f"lineage has {len(lin)} labels for {adata.n_obs} cells; pass one per cell."
        raise ValueError(msg)
    return lin


def _reference_mask(
    adata: ad.AnnData,
    lin: pd.Series,
    reference: np.ndarray | pd.Series | None,
    opts: CnvOptions,
) -> np.ndarray:
    if reference is None:
        ref = lin.isin(list(opts.reference_lineages)).to_numpy()
    else:
        ref = (
            reference.reindex(adata.obs_names).fillna(False).to_numpy(dtype=bool)
            if isinstance(reference, pd.Series)
            else np.asarray(reference, dtype=bool)
        )
        if ref.shape != (adata.n_obs,):
            msg = "reference must be a boolean mask with one entry per cell."
            raise ValueError(msg)
    if ref.sum() < opts.min_reference:
        msg = (
            f"only {int(ref.sum())} reference cells ({', '.join(opts.reference_lineages)}) for "
            f"copy-number inference (need >= {opts.min_reference}), too few to call malignant "
            "cells. Fix: set subsets.cnv: false in the config to skip malignant calling, or "
            "supply more cells (from a notebook: pass reference= with known normal cells, or "
            "CnvOptions(reference_lineages=...))"
        )
        raise InputError(msg)
    return ref


def _candidate_mask(
    lin: pd.Series, candidates: np.ndarray | None, ref: np.ndarray, opts: CnvOptions
) -> np.ndarray:
    """Non-reference cells of a candidate lineage (or of the explicit ``candidates`` mask)."""
    if candidates is None:
        return lin.isin(list(opts.candidate_lineages)).to_numpy() & ~ref
    return np.asarray(candidates, dtype=bool) & ~ref


def _held_out(ref: np.ndarray, groups: np.ndarray, *, seed: int) -> np.ndarray:
    """A seeded random half of each group's reference cells (groups of >= 4 cells)."""
    rng = np.random.default_rng(seed)
    heldout = np.zeros(ref.size, dtype=bool)
    for g in np.unique(groups[ref]):
        members = np.flatnonzero(ref & (groups == g))
        if members.size >= 4:
            pick = rng.permutation(members)[: members.size // 2]
            heldout[pick] = True
    return heldout


def _cnv_clusters(adata: ad.AnnData, x: np.ndarray, opts: CnvOptions) -> np.ndarray:
    """CNV clusters (PCA -> kNN -> Leiden, seeded); PCs stored in ``obsm['X_cnv_pca']``."""
    import scanpy as sc
    from sklearn.decomposition import PCA

    from tmesig.cluster import leiden

    seed = opts.seed
    n_comps = int(max(2, min(30, x.shape[0] - 1, x.shape[1] - 1)))
    pcs = PCA(n_components=n_comps, random_state=seed, svd_solver="arpack").fit_transform(
        x - x.mean(axis=0)
    )
    adata.obsm["X_cnv_pca"] = pcs
    tmp = sc.AnnData(np.zeros((adata.n_obs, 1), dtype=np.float32), obsm={"X_pca": pcs})
    sc.pp.neighbors(tmp, use_rep="X_pca", n_neighbors=min(15, adata.n_obs - 1), random_state=seed)
    leiden(tmp, resolution=opts.resolution, seed=seed)
    return tmp.obs["leiden"].astype(int).to_numpy()


def _robust_upper(values: np.ndarray, n_mads: float) -> float:
    """``median + n_mads * 1.4826 * MAD``: an upper bound robust to a few misassigned cells."""
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    return med + n_mads * mad


def _loo_cluster_corr(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with the mean of the other rows of its cluster."""
    out = np.full(x.shape[0], np.nan)
    for k in np.unique(codes):
        rows = np.flatnonzero(codes == k)
        if rows.size < 2:
            continue
        block = x[rows]
        total = block.sum(axis=0)
        others = (total[None, :] - block) / (rows.size - 1)
        a = block - block.mean(axis=1, keepdims=True)
        b = others - others.mean(axis=1, keepdims=True)
        den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = np.where(den > 0, (a * b).sum(axis=1) / den, 0.0)
    return out


def _thresholds(score: np.ndarray, corr: np.ndarray, opts: CnvOptions) -> _Thresholds:
    """Thresholds from the held-out reference cells' scores and correlations."""
    n_mads = opts.n_mads
    score_thr = max(_robust_upper(score, n_mads), float(np.quantile(score, 0.95)))
    corr_thr = float(min(opts.max_corr, max(opts.min_corr, _robust_upper(corr, n_mads))))
    return _Thresholds(
        score=score_thr,
        corr=corr_thr,
        strong_score=opts.strong_factor * score_thr,
        strong_corr=max(opts.strong_corr, corr_thr),
    )


def _call_cells(
    score: np.ndarray, corr: np.ndarray, thr: _Thresholds, cells: _Cells, lin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell call and note (see :mod:`tmesig.cnv`, step 6)."""
    ref, candidate = cells.ref, cells.candidate
    hi_score = score > thr.score
    hi_corr = corr > thr.corr
    strong = (score > thr.strong_score) & (corr > thr.strong_corr)

    call = np.full(score.size, "non-malignant", dtype=object)
    call[candidate & hi_score & hi_corr] = MALIGNANT
    call[candidate & (hi_score ^ hi_corr)] = "uncertain"
    call[~candidate & ~ref & strong] = MALIGNANT

    note = np.full(score.size, "", dtype=object)
    note[cells.baseline] = "reference cell (baseline)"
    note[cells.heldout] = "reference cell (held out, calibrates thresholds)"
    ref_high = ref & hi_score & hi_corr
    note[ref_high] = [f"{x}; CNV above thresholds: check its annotation" for x in note[ref_high]]
    other = ~candidate & ~ref & ~strong & hi_score & hi_corr
    note[other] = [
        f"lineage {lv} is not a candidate: CNV above thresholds but below strong evidence"
        for lv in lin[other]
    ]
    strong_other = ~candidate & ~ref & strong
    note[strong_other] = [
        f"lineage {lv} is not a candidate: called on strong CNV evidence"
        for lv in lin[strong_other]
    ]
    return call, note
