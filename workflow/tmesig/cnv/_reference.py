"""The copy-neutral reference: mask, held-out half, purification by iteration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmesig.io.errors import InputError

from ._clones import Clones, find_clones
from ._options import CnvOptions
from ._signal import Signal, cnv_signal
from ._thresholds import Thresholds, thresholds

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["Purified", "held_out", "purify", "reference_mask"]


@dataclass(frozen=True)
class Purified:
    """The last profiles, clones and thresholds; the final reference; the cells removed."""

    signal: Signal
    clones: Clones
    thr: Thresholds
    ref: np.ndarray
    removed: np.ndarray
    iterations: int
    converged: bool


def reference_mask(
    adata: ad.AnnData,
    lin: pd.Series,
    reference: np.ndarray | pd.Series | None,
    *,
    options: CnvOptions,
) -> np.ndarray:
    """Boolean mask of the reference cells (explicit, or by lineage).

    Parameters
    ----------
    adata
        The cells.
    lin
        Lineage per cell.
    reference
        Explicit mask, or ``None`` for lineage in ``options.reference_lineages``.
    options
        ``reference_lineages`` and ``min_reference``.

    Returns
    -------
    numpy.ndarray
        The mask.

    Raises
    ------
    ValueError
        A mask of the wrong length.
    InputError
        Fewer than ``min_reference`` reference cells.
    """
    if reference is None:
        ref = lin.isin(list(options.reference_lineages)).to_numpy()
    else:
        ref = (
            reference.reindex(adata.obs_names).fillna(False).to_numpy(dtype=bool)
            if isinstance(reference, pd.Series)
            else np.asarray(reference, dtype=bool)
        )
        if ref.shape != (adata.n_obs,):
            msg = "reference must be a boolean mask with one entry per cell."
            raise ValueError(msg)
    if ref.sum() < options.min_reference:
        msg = (
            f"only {int(ref.sum())} reference cells ({', '.join(options.reference_lineages)}) "
            f"for copy-number inference (need >= {options.min_reference}), too few to call "
            "malignant cells. Fix: set subsets.cnv: false in the config to skip malignant "
            "calling, or supply more cells (from a notebook: pass reference= with known normal "
            "cells, or CnvOptions(reference_lineages=...))"
        )
        raise InputError(msg)
    return ref


def held_out(ref: np.ndarray, groups: np.ndarray, *, seed: int) -> np.ndarray:
    """A seeded random half of each group's reference cells (groups of >= 4 cells).

    Parameters
    ----------
    ref
        Reference mask.
    groups
        Group per cell.
    seed
        Random seed.

    Returns
    -------
    numpy.ndarray
        Mask of the held-out reference cells.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(ref.size, dtype=bool)
    for g in np.unique(groups[ref]):
        members = np.flatnonzero(ref & (groups == g))
        if members.size >= 4:
            out[rng.permutation(members)[: members.size // 2]] = True
    return out


def purify(
    adata: ad.AnnData,
    ref: np.ndarray,
    heldout: np.ndarray,
    *,
    groups: np.ndarray,
    options: CnvOptions,
) -> Purified:
    """Remove reference cells that carry copy-number changes; recompute until none is left.

    Each round runs infercnvpy against the baseline (reference minus held-out cells),
    derives the thresholds from the held-out reference cells, finds the clones, and removes
    from the reference every cell above both thresholds or correlating with a clone. It
    stops when a round removes nothing, after ``options.max_iterations`` rounds (cells found
    in the last round are removed without another run: ``converged`` is then false), or
    when the baseline would fall below ``min_reference`` cells.

    Parameters
    ----------
    adata
        Log-normalised expression (modified in place, see :func:`cnv_signal`).
    ref, heldout
        Initial reference mask and held-out mask.
    groups
        Reference group per cell.
    options
        All CNV options.

    Returns
    -------
    Purified
        The last round's signal, clones and thresholds, the final reference and removed cells.
    """
    ref, removed = ref.copy(), np.zeros(ref.size, dtype=bool)
    rounds, converged = 0, False
    while True:
        rounds += 1
        sig = cnv_signal(adata, ref & ~heldout, groups=groups, options=options)
        null = heldout & ref
        thr = thresholds(sig.score[null], sig.corr[null], options=options)
        clones = find_clones(sig, ref=ref, heldout=heldout, groups=groups, options=options)
        carry = ref & (((sig.score > thr.score) & (sig.corr > thr.corr)) | clones.corr_ok)
        ref &= ~carry
        removed |= carry
        if not carry.any():
            converged = True
            break
        too_few = (ref & ~heldout).sum() < options.min_reference or not (heldout & ref).any()
        if rounds >= options.max_iterations or too_few:
            break
    return Purified(sig, clones, thr, ref, removed, rounds, converged)
