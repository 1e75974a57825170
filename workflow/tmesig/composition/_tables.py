"""Cells per patient × condition at two levels: lineages, and cell states within a denominator."""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_LEVEL,
    COL_PARENT,
    COL_PATIENT,
    LEVEL_LINEAGE,
    LEVEL_STATE,
    LINEAGES,
    UNASSIGNED,
)
from ..subsets import SubsetMarkers

__all__ = ["ALL_ASSIGNED", "composition_table", "state_composition_table", "state_hierarchy"]

#: ``denominator`` of the lineage rows: every assigned cell of the patient and condition.
ALL_ASSIGNED = "assigned cells"
_KEYS = [COL_PATIENT, COL_CONDITION]
_COLUMNS = [
    COL_LEVEL,
    COL_PARENT,
    "denominator",
    COL_COMPARTMENT,
    COL_PATIENT,
    COL_CONDITION,
    "n_cells",
    "n_total",
    "fraction",
    "logit",
]


def state_hierarchy(markers: SubsetMarkers) -> dict[str, str]:
    """Each refined subset -> the subset it refines (``CD8_exhausted`` -> ``CD8_T``).

    Parameters
    ----------
    markers
        Parsed subset markers (:func:`tmesig.subsets.load_subset_markers`; ``parent:`` keys).

    Returns
    -------
    dict of str to str
        Only subsets with a ``parent``; roots and states outside the file (``malignant``)
        are absent.
    """
    return {s.name: s.parent for s in markers.subsets if s.parent}


def _long(counts: pd.DataFrame, pairs: pd.MultiIndex) -> pd.DataFrame:
    """patient × condition (rows) × category (columns) counts -> the long table's count columns."""
    counts = counts.reindex(pairs, fill_value=0)
    totals = counts.sum(axis=1)
    long = counts.stack().rename("n_cells").reset_index()
    long.columns = [*_KEYS, COL_COMPARTMENT, "n_cells"]
    long["n_total"] = long.set_index(_KEYS).index.map(totals).to_numpy()
    n, k = long["n_total"].to_numpy(float), long["n_cells"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        long["fraction"] = np.where(n > 0, k / n, np.nan)
        long["logit"] = np.where(n > 0, np.log((k + 0.5) / (n - k + 0.5)), np.nan)
    return long


def _frame(labels: dict[str, pd.Series]) -> pd.DataFrame:
    index = labels["category"].index
    return pd.DataFrame(
        {k: v.reindex(index).astype(str).to_numpy() for k, v in labels.items()}, index=index
    )


def composition_table(
    *, compartment: pd.Series, patient: pd.Series, condition: pd.Series
) -> pd.DataFrame:
    """Cells and fraction per patient × condition × lineage (unassigned cells left out).

    Every compartment seen in the data gets a row for every patient × condition (with zero
    cells where absent), so that absence counts as a fraction of zero.

    Parameters
    ----------
    compartment, patient, condition
        Per-cell labels (``patient`` and ``condition`` reindexed to ``compartment``).

    Returns
    -------
    DataFrame
        ``level`` (``lineage``), ``parent`` (the lineage itself), ``denominator``
        (:data:`ALL_ASSIGNED`), ``compartment``, ``patient``, ``condition``, ``n_cells``,
        ``n_total``, ``fraction`` and ``logit`` (``log((k + 0.5) / (n - k + 0.5))``), sorted
        by compartment, condition and patient.
    """
    df = _frame({"category": compartment, COL_PATIENT: patient, COL_CONDITION: condition})
    df = df[df["category"] != UNASSIGNED]
    counts = df.groupby([*_KEYS, "category"], observed=True).size().unstack(fill_value=0)
    long = _long(counts, counts.index)
    long[COL_LEVEL], long[COL_PARENT] = LEVEL_LINEAGE, long[COL_COMPARTMENT]
    long["denominator"] = ALL_ASSIGNED
    long = long.sort_values([COL_COMPARTMENT, COL_CONDITION, COL_PATIENT])
    return long[_COLUMNS].reset_index(drop=True)


def state_composition_table(
    *,
    state: pd.Series,
    lineage: pd.Series,
    patient: pd.Series,
    condition: pd.Series,
    hierarchy: Mapping[str, str],
) -> pd.DataFrame:
    """Cells and share of each cell state within its denominator, per patient × condition.

    Two kinds of denominator, each split into categories that partition it:

    * a **lineage** (``T_NK``, ``epithelial``...): its state-assigned cells, by top-level
      state (a subset with refinements counts with them: ``CD8_T`` = every CD8 cell), so
      ``CD8_T`` among ``T_NK``, ``malignant`` among ``epithelial``, ``CAF`` among
      ``fibroblast``;
    * a **refined subset** (``CD8_T``): the cells called it or one of its refinements, by
      refinement (``CD8_exhausted`` among ``CD8_T``); cells called the subset without a
      confident refinement form the category named like the denominator.

    Cells whose state is ``unassigned`` are left out of every denominator. Every category
    of a denominator gets a row for every patient × condition of the data (zero cells where
    absent; ``n_total`` 0, ``fraction`` and ``logit`` NaN where the patient has no cell of
    the denominator).

    Parameters
    ----------
    state
        Per-cell state (``annotation.tsv``'s ``state``).
    lineage
        Per-cell lineage of the state (``annotation.tsv``'s ``parent``), reindexed to ``state``.
    patient, condition
        Per-cell labels, reindexed to ``state``.
    hierarchy
        Refined subset -> the subset it refines (:func:`state_hierarchy`).

    Returns
    -------
    DataFrame
        The columns of :func:`composition_table`, with ``level`` ``state``, ``parent`` the
        denominator's lineage and ``denominator`` the lineage or refined subset.
    """
    df = _frame(
        {"category": state, "lineage": lineage, COL_PATIENT: patient, COL_CONDITION: condition}
    )
    pairs = pd.MultiIndex.from_frame(df[_KEYS].drop_duplicates().sort_values(_KEYS))
    df = df[~df["category"].isin([UNASSIGNED, "nan", ""])]
    roots = set(hierarchy.values())
    top = df["category"].map(lambda s: hierarchy.get(s, s))
    groups = [(df["lineage"], top, None)]
    family = top.isin(roots)
    groups.append((top[family], df.loc[family, "category"], df.loc[family, "lineage"]))
    parts = []
    for denominator, category, lin in groups:
        sub = df.loc[denominator.index].assign(denominator=denominator, category=category)
        sub["lineage"] = sub["lineage"] if lin is None else lin
        for (den, par), cells in sub.groupby(["denominator", "lineage"], sort=True):
            counts = cells.groupby([*_KEYS, "category"]).size().unstack(fill_value=0)
            long = _long(counts, pairs)
            long["denominator"], long[COL_PARENT] = den, par
            parts.append(long)
    if not parts:
        return pd.DataFrame(columns=_COLUMNS)
    out = pd.concat(parts, ignore_index=True).assign(**{COL_LEVEL: LEVEL_STATE})
    order = {x: i for i, x in enumerate(LINEAGES)}
    out["_lin"] = out[COL_PARENT].map(lambda x: order.get(x, len(order)))
    out["_sub"] = out["denominator"] != out[COL_PARENT]  # lineage denominators first
    keys = ["_lin", COL_PARENT, "_sub", "denominator", COL_COMPARTMENT, COL_CONDITION, COL_PATIENT]
    return out.sort_values(keys)[_COLUMNS].reset_index(drop=True)
