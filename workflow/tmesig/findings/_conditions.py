"""Condition comparisons (lineages and cell states) and composition shifts, as the findings
page states them."""

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from ..constants import LEVEL_STATE

__all__ = ["ConditionFacts", "condition_facts"]


@dataclass(frozen=True)
class ConditionFacts:
    """What ``conditions.tsv`` and ``composition.tsv`` say.

    Attributes
    ----------
    compared : bool
        Two conditions were compared (the sheet names a condition column with two levels).
    contrast : str
        ``"<test> vs <reference>"``, or the tables' note when nothing was compared.
    n_tests, n_tested, n_significant : int
        Compartment × set comparisons, those with a p-value, those at FDR ≤ alpha.
    why_untested : str
        The most common note of the untested rows (e.g. too few patients per condition).
    top : DataFrame
        The comparisons with the smallest FDR (then p), at most ``n`` rows, lineages and
        cell states together; a state's ``compartment`` reads ``CD8_exhausted (T_NK)``.
    composition : DataFrame
        ``composition.tsv`` sorted by FDR then p (empty without a comparison).
    """

    compared: bool
    contrast: str
    n_tests: int = 0
    n_tested: int = 0
    n_significant: int = 0
    why_untested: str = ""
    top: pd.DataFrame | None = None
    composition: pd.DataFrame | None = None


def _by_evidence(df: pd.DataFrame) -> pd.DataFrame:
    if "p" not in df.columns:
        return df
    key = df.assign(_u=df["p"].isna(), _f=df.get("fdr", df["p"]))
    order = key.sort_values(["_u", "_f", "p"], kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _state_labels(df: pd.DataFrame) -> pd.DataFrame:
    """State rows (``level == state``) named ``state (parent lineage)``."""
    if "level" not in df.columns or "parent" not in df.columns:
        return df
    state = (df["level"] == LEVEL_STATE) & (df["parent"] != df["compartment"])
    out = df.copy()
    out.loc[state, "compartment"] = (
        df.loc[state, "compartment"].astype(str) + " (" + df.loc[state, "parent"].astype(str) + ")"
    )
    return out


def condition_facts(
    conditions: pd.DataFrame, composition: pd.DataFrame, *, n: int = 10
) -> ConditionFacts:
    """Summarise the condition and composition tables.

    Parameters
    ----------
    conditions
        ``conditions.tsv`` (one ``note`` row when there was nothing to compare).
    composition
        ``composition.tsv`` (likewise).
    n
        Rows of :attr:`ConditionFacts.top`.

    Returns
    -------
    ConditionFacts
    """
    if "compartment" not in conditions.columns or conditions.empty:
        note = str(conditions["note"].iloc[0]) if "note" in conditions and len(conditions) else ""
        return ConditionFacts(compared=False, contrast=note)
    first = conditions.iloc[0]
    tested = conditions["p"].notna()
    notes = Counter(conditions.loc[~tested, "note"].fillna("").astype(str))
    sig = conditions.get("significant", pd.Series(False, index=conditions.index))
    comp = composition if "compartment" in composition.columns else composition.iloc[0:0]
    return ConditionFacts(
        compared=True,
        contrast=f"{first['test']} vs {first['reference']}",
        n_tests=len(conditions),
        n_tested=int(tested.sum()),
        n_significant=int(sig.fillna(False).astype(bool).sum()),
        why_untested=notes.most_common(1)[0][0] if notes else "",
        top=_state_labels(_by_evidence(conditions[tested]).head(n)),
        composition=_by_evidence(comp),
    )
