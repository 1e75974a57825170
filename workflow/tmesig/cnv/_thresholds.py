"""Thresholds from the held-out reference cells (the null of a copy-neutral cell)."""

from dataclasses import dataclass

import numpy as np

from ._options import CnvOptions

__all__ = ["Thresholds", "null_upper", "robust_upper", "thresholds"]


@dataclass(frozen=True)
class Thresholds:
    """Per-cell thresholds: CNV score, correlation, and the strong-evidence pair."""

    score: float
    corr: float
    strong_score: float
    strong_corr: float


def robust_upper(values: np.ndarray, n_mads: float) -> float:
    """``median + n_mads * 1.4826 * MAD``: an upper bound robust to a few misassigned cells.

    Parameters
    ----------
    values
        Null values (held-out reference cells).
    n_mads
        Number of (normal-consistent) MADs above the median.

    Returns
    -------
    float
        The bound.
    """
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    return med + n_mads * mad


def null_upper(values: np.ndarray, n_mads: float) -> float:
    """The larger of :func:`robust_upper` and the 95th percentile of ``values``.

    The percentile matters when most null values are equal (infercnvpy's noise filter zeroes
    most reference cells and the MAD is 0).

    Parameters
    ----------
    values
        Null values (held-out reference cells).
    n_mads
        Number of MADs above the median.

    Returns
    -------
    float
        The bound.
    """
    return max(robust_upper(values, n_mads), float(np.quantile(values, 0.95)))


def thresholds(score: np.ndarray, corr: np.ndarray, *, options: CnvOptions) -> Thresholds:
    """Thresholds from the held-out reference cells' scores and correlations.

    Parameters
    ----------
    score, corr
        ``cnv_score`` and ``cnv_corr`` of the held-out reference cells.
    options
        ``n_mads``, ``min_corr``, ``max_corr``, ``strong_factor``, ``strong_corr``.

    Returns
    -------
    Thresholds
        See :mod:`tmesig.cnv`, step 5.
    """
    n_mads = options.n_mads
    score_thr = null_upper(score, n_mads)
    corr_thr = float(min(options.max_corr, max(options.min_corr, robust_upper(corr, n_mads))))
    return Thresholds(
        score=score_thr,
        corr=corr_thr,
        strong_score=options.strong_factor * score_thr,
        strong_corr=max(options.strong_corr, corr_thr),
    )
