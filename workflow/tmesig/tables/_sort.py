"""Rows by evidence: FDR, then p, then effect size."""

import numpy as np
import pandas as pd

__all__ = ["sort_by_evidence"]


def sort_by_evidence(
    table: pd.DataFrame,
    *,
    effect: str | None = None,
    absolute: bool = False,
    ties: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The rows sorted by evidence: ``fdr`` then ``p`` ascending, then ``effect`` descending.

    Untested rows (empty FDR / p) come last; the sort is stable, and ``ties`` break the
    remaining ties, so the order is the same on every run. The rows themselves are unchanged.

    Parameters
    ----------
    table
        A table with (some of) the columns ``fdr``, ``p`` and ``effect``; missing ones are
        skipped.
    effect
        Effect-size column, larger first (e.g. ``resistance_effect``).
    absolute
        Sort by the effect's absolute value (two-sided tests).
    ties
        Columns that order rows equal on every other key (e.g. ``("set", "compartment")``).

    Returns
    -------
    DataFrame
        The same rows (and index) in the new order.
    """
    keys: list[np.ndarray] = []  # most significant first
    for col in ("fdr", "p"):
        if col in table.columns:
            v = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
            keys += [np.isnan(v), np.nan_to_num(v, nan=np.inf)]
    if effect is not None and effect in table.columns:
        v = pd.to_numeric(table[effect], errors="coerce").to_numpy(dtype=float)
        v = np.abs(v) if absolute else v
        keys += [np.isnan(v), -np.nan_to_num(v, nan=0.0)]
    for col in ties:
        if col in table.columns:
            keys.append(pd.factorize(table[col].astype(str), sort=True)[0])
    if not keys:
        return table
    order = np.lexsort(tuple(reversed(keys)))  # lexsort: the last key is the primary one
    return table.iloc[order]
