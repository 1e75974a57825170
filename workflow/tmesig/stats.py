"""Small statistics shared by flags and condition tests: empirical p-values and BH by family."""

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

__all__ = ["empirical_p", "fdr_by_family"]


def empirical_p(hits: np.ndarray | float, n_null: int) -> np.ndarray:
    """One-sided Monte-Carlo p-value ``(1 + hits) / (1 + n_null)``.

    ``hits`` counts the null draws at least as extreme as the observed statistic; the +1 in
    both terms counts the observation itself (Davison & Hinkley 1997, eq. 4.11), so the
    p-value is never 0 and is valid at any number of draws.

    Parameters
    ----------
    hits
        Number of null draws at least as extreme as the observation (scalar or array).
    n_null
        Number of null draws.
    """
    return (1.0 + np.asarray(hits, dtype=float)) / (1.0 + n_null)


def fdr_by_family(table: pd.DataFrame) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values within each pre-specified family.

    Parameters
    ----------
    table
        Rows with a ``p`` column (NaN = not tested) and a ``family`` column (e.g. ``primary``,
        ``exploratory``); BH runs separately in each family.

    Returns
    -------
    ndarray
        The adjusted p-values in row order; NaN where ``p`` is NaN.
    """
    fdr = np.full(len(table), np.nan)
    p = table["p"].to_numpy(dtype=float)
    for fam in pd.unique(table["family"]):
        tested = ~np.isnan(p) & (table["family"] == fam).to_numpy()
        if tested.any():
            fdr[tested] = multipletests(p[tested], method="fdr_bh")[1]
    return fdr
