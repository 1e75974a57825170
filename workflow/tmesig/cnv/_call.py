"""Malignant calls from CNV profiles: purified reference, clones, thresholds, calls."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmesig.constants import MALIGNANT, UNASSIGNED

from ._options import CnvOptions
from ._reference import Purified, held_out, purify, reference_mask

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["CALLS", "call_malignant"]

#: The calls, in category order.
CALLS = (MALIGNANT, "non-malignant", "uncertain")


@dataclass(frozen=True)
class _Cells:
    """Per-cell masks: final reference, held-out reference, candidate, removed, and the
    candidates by lineage (before the removed reference cells joined them)."""

    ref: np.ndarray
    heldout: np.ndarray
    candidate: np.ndarray
    removed: np.ndarray
    by_lineage: np.ndarray


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
        Index ``obs_names``; columns ``lineage``, ``is_reference`` (after purification),
        ``removed_from_reference``, ``is_heldout_reference``, ``cnv_cluster``, ``cnv_clone``
        (the cell's CNV cluster is a clone), ``cnv_score``, ``cnv_corr``, ``cnv_call``
        (``malignant`` / ``non-malignant`` / ``uncertain``), ``note``. ``.attrs``: the
        thresholds, counts (``n_reference``, ``n_removed_from_reference``, ``n_clones``,
        ``n_malignant_other_lineage``), ``iterations``, ``converged``, ``seconds``; the
        per-cluster clone table is ``.attrs["clones"]`` (records).

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
    ref0 = reference_mask(adata, lin, reference, options=opts)
    groups = lin.to_numpy() if reference is None else np.full(adata.n_obs, "reference")
    # Hold out a seeded random half of the reference cells (per group) to calibrate the
    # thresholds: cells that defined the baseline are biased towards zero.
    heldout = held_out(ref0, groups, seed=opts.seed)
    pur = purify(adata, ref0, heldout, groups=groups, options=opts)
    cells = _cells(pur, heldout, _candidate_mask(lin, candidates, ref0, opts))
    call, note = _call_cells(pur, cells, lin.to_numpy())
    sig = pur.signal
    out = pd.DataFrame(
        {
            "lineage": lin.to_numpy(),
            "is_reference": cells.ref,
            "removed_from_reference": cells.removed,
            "is_heldout_reference": cells.heldout,
            "cnv_cluster": pd.Categorical([str(c) for c in sig.codes]),
            "cnv_clone": pur.clones.member,
            "cnv_score": sig.score,
            "cnv_corr": sig.corr,
            "cnv_call": pd.Categorical(call, categories=list(CALLS)),
            "note": note,
        },
        index=adata.obs_names.copy(),
    )
    out.attrs.update(_attrs(pur, cells, opts))
    other = ~lin.isin(list(opts.candidate_lineages)).to_numpy()
    out.attrs["n_malignant_other_lineage"] = int(((call == MALIGNANT) & other).sum())
    out.attrs["clones"] = pur.clones.table.to_dict("records")
    out.attrs["seconds"] = time.perf_counter() - t0
    return out


def _attrs(pur: Purified, cells: _Cells, opts: CnvOptions) -> dict[str, float | int | bool]:
    """Thresholds and counts stored in the result's ``.attrs``."""
    thr = pur.thr
    return {
        "score_threshold": thr.score,
        "corr_threshold": thr.corr,
        "strong_score_threshold": thr.strong_score,
        "strong_corr": thr.strong_corr,
        "n_mads": opts.n_mads,
        "n_reference": int(cells.ref.sum()),
        "n_heldout_reference": int(cells.heldout.sum()),
        "n_removed_from_reference": int(cells.removed.sum()),
        "n_clones": int(pur.clones.table["clone"].sum()),
        "iterations": pur.iterations,
        "converged": pur.converged,
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


def _cells(pur: Purified, heldout: np.ndarray, by_lineage: np.ndarray) -> _Cells:
    """The masks after purification: removed reference cells join the candidates."""
    return _Cells(
        ref=pur.ref,
        heldout=heldout & pur.ref,
        candidate=by_lineage | pur.removed,
        removed=pur.removed,
        by_lineage=by_lineage,
    )


def _candidate_mask(
    lin: pd.Series, candidates: np.ndarray | None, ref: np.ndarray, opts: CnvOptions
) -> np.ndarray:
    """Non-reference cells of a candidate lineage (or of the explicit ``candidates`` mask)."""
    if candidates is None:
        return lin.isin(list(opts.candidate_lineages)).to_numpy() & ~ref
    return np.asarray(candidates, dtype=bool) & ~ref


def _call_cells(pur: Purified, cells: _Cells, lin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell call and note (see :mod:`tmesig.cnv`, step 6)."""
    sig, thr, clones = pur.signal, pur.thr, pur.clones
    ref, candidate = cells.ref, cells.candidate
    hi_score, hi_corr = sig.score > thr.score, sig.corr > thr.corr
    both = hi_score & hi_corr
    strong = (sig.score > thr.strong_score) & (sig.corr > thr.strong_corr)
    # a cell removed from the reference but of a lineage that is not a candidate is malignant
    # only when it shares a tumour clone's profile or on strong evidence: above both
    # thresholds alone is the tail of normal cells (in a dataset of normal T cells, ~0.5% of
    # them), so it stays uncertain, out of the reference
    lone = cells.removed & ~cells.by_lineage & ~clones.corr_ok & ~strong
    malignant = candidate & (both | clones.corr_ok) & ~lone

    call = np.full(sig.score.size, "non-malignant", dtype=object)
    call[malignant] = MALIGNANT
    call[candidate & ~malignant & (hi_score | hi_corr)] = "uncertain"
    call[~candidate & ~ref & strong] = MALIGNANT

    note = np.full(sig.score.size, "", dtype=object)
    note[ref & ~cells.heldout] = "reference cell (baseline)"
    note[cells.heldout] = "reference cell (held out, calibrates thresholds)"
    note[cells.removed] = "removed from the reference: carries copy-number changes"
    note[lone] = (
        "removed from the reference: CNV above both thresholds, but its lineage is not a "
        "candidate, it shares no clone's profile and the evidence is not strong: uncertain"
    )
    in_clone = candidate & clones.corr_ok
    note[in_clone] = [
        f"{n}; " * bool(n) + f"shares the profile of CNV clone {k}"
        for n, k in zip(note[in_clone], sig.codes[in_clone], strict=True)
    ]
    other = ~candidate & ~ref & ~strong & (both | clones.corr_ok)
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
