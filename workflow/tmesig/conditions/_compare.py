"""Condition comparisons per compartment × set, at lineage and state level.

Rows: every lineage (``level = lineage``, ``parent`` = the lineage) and every cell state
(``level = state``: the annotation's ``state``, ``parent`` its lineage; ``unassigned``
never tested) × every scored set. BH runs within each level and family (``primary``: the
set's pre-specified compartments, :func:`tmesig.conditions.primary_in`; ``exploratory``:
the rest).
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_PARENT,
    COL_PATIENT,
    COL_STATE,
    LEVEL_LINEAGE,
    LEVEL_STATE,
    UNASSIGNED,
    direction_sign,
)
from ..signatures import GeneSet, primary_in
from ..stats import fdr_by_family
from ._contrast import Contrast
from ._samples import compare_samples, sample_means

__all__ = ["ConditionOptions", "compare_conditions", "gene_counts"]


@dataclass(frozen=True)
class ConditionOptions:
    """Thresholds of :func:`compare_conditions` (the config's ``conditions`` section).

    Parameters
    ----------
    min_cells : int
        Minimum cells of a patient in a compartment and condition to contribute.
    min_patients : int
        Minimum patients per condition (or pairs) for a test.
    alpha : float
        Confidence level of the intervals is ``1 - alpha``; FDR level for ``significant``.
    """

    min_cells: int = 10
    min_patients: int = 3
    alpha: float = 0.05

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ConditionOptions":
        """Options from the config's ``conditions`` section (all three keys required).

        Parameters
        ----------
        section : mapping
            ``config["conditions"]`` (its ``reference`` and ``test`` are ignored here).

        Returns
        -------
        ConditionOptions
        """
        return cls(
            min_cells=section["min_cells"],
            min_patients=section["min_patients"],
            alpha=section["alpha"],
        )


def compare_conditions(
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    cells: pd.DataFrame,
    contrast: Contrast,
    options: ConditionOptions | None = None,
    coverage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare two conditions per compartment × set (lineages and states), patients as the unit.

    Parameters
    ----------
    scores
        Cells × sets.
    sets
        Gene sets (their direction and compartments).
    cells
        Per-cell labels indexed like ``scores``: ``compartment`` (lineage), ``patient``,
        ``condition``; optional ``sample`` (else one sample per patient × condition),
        ``state`` (adds the state level) and ``parent`` (the state's lineage; else
        ``compartment``).
    contrast
        The two conditions, see :func:`resolve_contrast`.
    options
        ``min_cells``, ``min_patients``, ``alpha`` (default :class:`ConditionOptions` ()).
    coverage
        ``coverage.tsv`` (``set``, ``n_genes``, ``n_found``): adds ``n_genes_found`` and
        ``n_genes`` (empty when not given).

    Returns
    -------
    DataFrame
        One row per level × compartment × set: ``level``, ``compartment``, ``parent``,
        ``set``, ``n_genes_found``, ``n_genes``, ``direction``, ``family``, ``reference``,
        ``test``, the fields of :func:`compare_samples`, ``resistance_effect``
        (``std_effect`` signed so that positive means the test condition is further
        towards resistance), ``fdr`` (BH within level and family) and ``significant``.
    """
    opts = ConditionOptions() if options is None else options
    by_name = {gs.name: gs for gs in sets}
    roster = cells[[COL_PATIENT, COL_CONDITION]].astype(str).drop_duplicates()
    parts = []
    for level, by, parents in _levels(cells):
        rows = []
        means = sample_means(scores, cells, by=by)
        for comp, sub in means.groupby("compartment", sort=True):
            for set_name in scores.columns:
                res = compare_samples(
                    sub, set_name, contrast=contrast, min_cells=opts.min_cells,
                    min_units=opts.min_patients, alpha=opts.alpha, roster=roster,
                )  # fmt: skip
                head = {"level": level, "compartment": comp, "parent": parents.get(comp, comp)}
                rows.append(_row(head, by_name[set_name], contrast, res))
        part = pd.DataFrame(rows)
        if len(part):
            part["fdr"] = fdr_by_family(part)
            parts.append(part)
    if not parts:
        return pd.DataFrame()
    out = gene_counts(pd.concat(parts, ignore_index=True), coverage)
    out["significant"] = (out["fdr"] <= opts.alpha).fillna(False).astype(bool)
    if contrast.note:
        out["note"] = [f"{n}; {contrast.note}" if n else contrast.note for n in out["note"]]
    return out


def _levels(cells: pd.DataFrame) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(level, column of ``cells`` holding the group, group -> parent lineage)."""
    lineages = cells[COL_COMPARTMENT].astype(str)
    yield LEVEL_LINEAGE, COL_COMPARTMENT, {x: x for x in lineages.unique()}
    if COL_STATE not in cells.columns:
        return
    state = cells[COL_STATE].astype(str)
    parent = cells[COL_PARENT].astype(str) if COL_PARENT in cells.columns else lineages
    pairs = pd.DataFrame({"s": state, "p": parent})[state != UNASSIGNED]
    # a state's lineage: the most frequent parent of its cells (one, by the contract)
    mode = pairs.groupby("s")["p"].agg(lambda x: x.value_counts().sort_index().idxmax())
    yield LEVEL_STATE, COL_STATE, mode.to_dict()


def _row(
    head: dict[str, str], gs: GeneSet, contrast: Contrast, res: dict[str, Any]
) -> dict[str, Any]:
    """One output row: the compartment × set, its family, the comparison, the signed effect."""
    primary = primary_in(gs, head["compartment"], level=head["level"], parent=head["parent"])
    return {
        **head,
        "set": gs.name,
        "direction": gs.direction,
        "family": "primary" if primary else "exploratory",
        "reference": contrast.reference,
        "test": contrast.test,
        **res,
        "resistance_effect": direction_sign(gs.direction) * res["std_effect"],
    }


def gene_counts(table: pd.DataFrame, coverage: pd.DataFrame | None) -> pd.DataFrame:
    """Insert ``n_genes_found`` and ``n_genes`` (from ``coverage.tsv``) after ``set``.

    Parameters
    ----------
    table
        A table with a ``set`` column.
    coverage
        ``coverage.tsv`` (``set``, ``n_genes``, ``n_found``), or None (the columns are empty).

    Returns
    -------
    DataFrame
        A copy of ``table`` with the two columns.
    """
    out = table.drop(columns=["n_genes_found", "n_genes"], errors="ignore")
    cov = coverage.set_index("set") if coverage is not None else pd.DataFrame(
        columns=["n_genes", "n_found"]
    )  # fmt: skip
    at = out.columns.get_loc("set") + 1
    found = out["set"].map(cov["n_found"]).astype("Int64")
    out.insert(at, "n_genes_found", found)
    out.insert(at + 1, "n_genes", out["set"].map(cov["n_genes"]).astype("Int64"))
    return out
