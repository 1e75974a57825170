"""Best-two picks and relative margins: the confidence arithmetic of every annotation call.

Lineage calls (:func:`tmesig.annotate.annotate`) and subset calls
(:func:`tmesig.subsets.annotate_subsets`) both rank the scores of a cell or cluster,
keep the best and the runner-up, and measure how clearly the best wins by the relative
margin ``(best - second) / best``.
"""

import numpy as np

__all__ = ["best_two", "relative_margin"]


def best_two(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise index and value of the best and second-best finite entries.

    Parameters
    ----------
    values
        Rows x columns scores; NaN entries are ignored.

    Returns
    -------
    best_idx, best_val, second_idx, second_val : numpy.ndarray
        Per row; ties resolve to the earlier column (stable sort). Missing entries (no
        finite value) are ``-1`` (index) and ``0`` (value).
    """
    filled = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-filled, axis=1, kind="stable")
    rows = np.arange(values.shape[0])
    n = values.shape[1]
    best_idx = order[:, 0] if n else np.full(len(rows), -1)
    second_idx = order[:, 1] if n > 1 else np.full(len(rows), -1)
    best_val = filled[rows, best_idx] if n else np.zeros(len(rows))
    second_val = filled[rows, second_idx] if n > 1 else np.zeros(len(rows))
    best_idx = np.where(np.isfinite(best_val), best_idx, -1)
    second_idx = np.where(np.isfinite(second_val), second_idx, -1)
    best_val = np.where(np.isfinite(best_val), best_val, 0.0)
    second_val = np.where(np.isfinite(second_val), second_val, 0.0)
    return best_idx, best_val, second_idx, second_val


def relative_margin(best: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``(best - max(second, 0)) / best`` clipped to ``[0, 1]`` (0 where ``best <= 0``).

    Parameters
    ----------
    best, second
        Best and second-best scores (e.g. from :func:`best_two`).

    Returns
    -------
    numpy.ndarray
        The relative margin: 1 when only the best is positive, 0 on a tie.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(best > 0, (best - np.maximum(second, 0.0)) / best, 0.0)
    return np.clip(margin, 0.0, 1.0)
