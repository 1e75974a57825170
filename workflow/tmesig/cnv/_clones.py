"""CNV clones: CNV clusters whose mean profile deviates more than any normal cell type's."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._options import CnvOptions
from ._signal import Signal
from ._thresholds import null_upper

__all__ = ["Clones", "find_clones"]


@dataclass(frozen=True)
class Clones:
    """Per cell: in a clone, and correlating with it beyond the null; per cluster: a table."""

    member: np.ndarray
    corr_ok: np.ndarray
    table: pd.DataFrame


def _amplitude(x: np.ndarray) -> float:
    """Mean absolute value of the mean profile of the rows of ``x``."""
    return float(np.abs(x.mean(axis=0)).mean())


def _null_amplitude(
    x: np.ndarray, null_groups: list[np.ndarray], n: int, rng: np.random.Generator
) -> float:
    """Largest amplitude of a normal cell type's mean profile, each from (at most) ``n`` of
    its held-out cells (size-matched: fewer cells, a noisier mean)."""
    out = 0.0
    for members in null_groups:
        pick = members if members.size <= n else rng.choice(members, n, replace=False)
        out = max(out, _amplitude(x[pick]))
    return out


def _corr_with(x: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of ``x`` with ``profile``."""
    a = x - x.mean(axis=1, keepdims=True)
    b = profile - profile.mean()
    den = np.sqrt((a * a).sum(axis=1) * float((b * b).sum()))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a @ b) / den, 0.0)


def find_clones(
    signal: Signal,
    *,
    ref: np.ndarray,
    heldout: np.ndarray,
    groups: np.ndarray,
    options: CnvOptions,
) -> Clones:
    """Call CNV clusters clones and test each member's correlation with its clone.

    A CNV cluster is a *clone* when it has at least ``min_clone_cells`` cells, fewer than
    half of them are reference cells, and the amplitude of its mean profile (mean
    ``|profile|`` over windows) exceeds that of every reference group's held-out cells
    (size-matched: at most as many cells, seeded). Held-out cells did not define the
    baseline, so their group means show how far a normal cell type deviates from it.

    A member *correlates* with its clone when its ``cnv_corr`` (correlation with the mean of
    the clone's other cells) exceeds the null bound (:func:`null_upper`) of the correlations
    of the held-out reference cells outside the clone with the clone's mean profile.

    Parameters
    ----------
    signal
        Profiles, CNV clusters and per-cell correlations.
    ref, heldout
        Boolean masks of the (current) reference cells and of the held-out ones.
    groups
        Reference group per cell (lineage).
    options
        ``min_clone_cells``, ``n_mads``, ``seed``.

    Returns
    -------
    Clones
        ``table``: per CNV cluster ``n``, ``reference_share``, ``amplitude``,
        ``null_amplitude``, ``clone``, ``corr_threshold`` (NaN when not a clone).
    """
    x, codes = signal.x, signal.codes
    null = heldout & ref
    null_groups = [
        np.flatnonzero(null & (groups == g))
        for g in np.unique(groups[null])
        if (null & (groups == g)).sum() >= options.min_clone_cells
    ]
    member = np.zeros(codes.size, dtype=bool)
    corr_ok = np.zeros(codes.size, dtype=bool)
    rows = []
    for k in np.unique(codes):
        m = codes == k
        n = int(m.sum())
        rng = np.random.default_rng(options.seed + int(k))
        amp, null_amp = _amplitude(x[m]), _null_amplitude(x, null_groups, n, rng)
        is_clone = bool(
            null_groups and n >= options.min_clone_cells and ref[m].mean() < 0.5 and amp > null_amp
        )
        thr = np.nan
        if is_clone:
            others = null & ~m
            if others.sum() >= options.min_clone_cells:
                thr = null_upper(_corr_with(x[others], x[m].mean(axis=0)), options.n_mads)
                member |= m
                corr_ok |= m & (signal.corr > thr)
            else:
                is_clone = False
        rows.append(
            {
                "cnv_cluster": str(k),
                "n": n,
                "reference_share": float(ref[m].mean()),
                "amplitude": amp,
                "null_amplitude": null_amp,
                "clone": is_clone,
                "corr_threshold": thr,
            }
        )
    return Clones(member=member, corr_ok=corr_ok, table=pd.DataFrame(rows))
