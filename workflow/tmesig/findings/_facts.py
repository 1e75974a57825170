"""The facts of one dataset's findings page, collected from its result tables.

:func:`collect_findings` turns the tables of one run (:class:`DatasetTables`) into
:class:`Findings`, a plain structure of numbers and small tables that
:mod:`tmesig.findings._document` puts into words. Nothing here is recomputed from cells
except the per-patient means (:func:`tmesig.findings.patient_scores`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..constants import LINEAGES
from ..io.matrix_state import STATE_WORDS
from ..signatures import CARD_ITEMS, GeneSet
from ._conditions import ConditionFacts, condition_facts
from ._options import FindingsOptions
from ._patients import top_deviations
from ._reasons import strongest_candidates

__all__ = ["DatasetTables", "Findings", "collect_findings", "input_mode"]

#: ``qc_summary.tsv`` count columns -> the words of the QC line.
_QC_REASONS = {
    "n_low_counts": "low counts",
    "n_high_counts": "high counts",
    "n_low_genes": "few genes",
    "n_high_genes": "many genes",
    "n_below_min_genes": "below min_genes",
    "n_high_mito": "high mitochondrial %",
    "n_doublet": "doublets",
}


@dataclass(frozen=True)
class DatasetTables:
    """The result tables of one dataset that the findings page reads.

    Attributes
    ----------
    dataset : str
        Dataset id.
    ingest : mapping
        ``ingest_summary.json``.
    qc_summary, coverage, flags, conditions, composition : DataFrame
        ``qc_summary.tsv``, ``coverage.tsv``, ``flags.tsv``, ``conditions.tsv``,
        ``composition.tsv``.
    compartment : Series
        Compartment of each cell (``annotation.tsv``).
    patients : DataFrame
        :func:`tmesig.findings.patient_scores`.
    genes : frozenset of str
        Genes of the scored matrix.
    library : tuple of GeneSet
        The signature library.
    """

    dataset: str
    ingest: Mapping[str, Any]
    qc_summary: pd.DataFrame
    coverage: pd.DataFrame
    flags: pd.DataFrame
    conditions: pd.DataFrame
    composition: pd.DataFrame
    compartment: pd.Series
    patients: pd.DataFrame
    genes: frozenset[str] = frozenset()
    library: tuple[GeneSet, ...] = ()


@dataclass(frozen=True)
class Findings:
    """What the page says, as numbers and small tables (see :func:`collect_findings`).

    Attributes
    ----------
    dataset, input_mode, matrix : str
        Dataset id; ``counts``, ``normalised`` or ``panel``; what the matrix held.
    size : dict
        ``cells``, ``genes``, ``samples``, ``patients`` at ingest, ``cells_kept`` after QC.
    qc : DataFrame
        One row per sample: ``sample``, ``cells_in``, ``cells_kept``, ``removed`` (words).
    compartments : Series
        Cells per compartment (``unassigned`` included), largest first.
    n_primary, n_primary_tested : int
        Pre-specified compartment × set tests, and those with a p-value.
    flagged, candidates : DataFrame
        Flagged rows (by FDR, then effect) with ``title`` and ``coverage``; the strongest
        unflagged rows with ``reason``.
    conditions : ConditionFacts
        Condition and composition results.
    n_patients : int
        Patients (patient × condition units) in the per-patient table.
    deviations : DataFrame
        The strongest per-patient deviations (pre-specified pairs).
    missing_card, unscored : DataFrame
        Card items with genes absent from the matrix; sets not scored.
    lineages_absent : list of str
        Lineages with no cell.
    ingest_notes : tuple of str
        What ingest found and decided (``ingest_summary.json`` ``notes``): counts recovered,
        genes dropped when files were merged, control features removed...
    options : FindingsOptions
        The thresholds the page restates.
    """

    dataset: str
    input_mode: str
    matrix: str
    size: dict[str, int]
    qc: pd.DataFrame
    compartments: pd.Series
    n_primary: int
    n_primary_tested: int
    flagged: pd.DataFrame
    candidates: pd.DataFrame
    conditions: ConditionFacts
    n_patients: int
    deviations: pd.DataFrame
    missing_card: pd.DataFrame
    unscored: pd.DataFrame
    lineages_absent: list[str] = field(default_factory=list)
    ingest_notes: tuple[str, ...] = ()
    options: FindingsOptions = field(default_factory=FindingsOptions)


def input_mode(summary: Mapping[str, Any]) -> str:
    """``counts``, ``normalised`` or ``panel``: the ingest summary's ``input_mode`` when it
    names one, else ``counts`` unless the matrix was used without counts.

    Parameters
    ----------
    summary
        ``ingest_summary.json``.
    """
    mode = summary.get("input_mode")
    if mode:
        return str(mode)
    matrix = summary.get("matrix") or {}
    return "normalised" if matrix.get("non_counts") else "counts"


def _matrix_words(summary: Mapping[str, Any]) -> str:
    m = summary.get("matrix") or {}
    state = str(m.get("state", "unknown"))
    words = f"{STATE_WORDS.get(state, state.replace('_', ' '))}, read from {m.get('source', '?')}"
    return words + "; counts recovered from them" if m.get("recovered") else words


def _qc_lines(qc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in qc.to_dict("records"):
        parts = [f"{w} {int(r[c])}" for c, w in _QC_REASONS.items() if r.get(c, 0) > 0]
        mito = r.get("mito_filter")
        if isinstance(mito, str) and mito.startswith("skipped"):
            parts.append(f"mitochondrial filter {mito}")
        rows.append(
            {
                "sample": str(r["sample"]),
                "cells_in": int(r["cells_in"]),
                "cells_kept": int(r["cells_kept"]),
                "removed": ", ".join(parts) if parts else "none",
            }
        )
    return pd.DataFrame(rows, columns=["sample", "cells_in", "cells_kept", "removed"])


def _with_titles(rows: pd.DataFrame, t: DatasetTables) -> pd.DataFrame:
    titles = {gs.name: gs.title for gs in t.library}
    cov = t.coverage.set_index("set")
    out = rows.copy()
    out["title"] = [titles.get(s, s) for s in out["set"]]
    out["coverage"] = [
        f"{int(cov.at[s, 'n_found'])}/{int(cov.at[s, 'n_genes'])}" if s in cov.index else ""
        for s in out["set"]
    ]
    return out


def _missing_card(t: DatasetTables) -> pd.DataFrame:
    in_library = {gs.name for gs in t.library if gs.card}
    rows = []
    for item, card in CARD_ITEMS.items():
        if card.set_name not in in_library:
            continue
        absent = [g for g in card.genes if g not in t.genes]
        if absent:
            rows.append({"item": item, "set": card.set_name, "absent": ", ".join(absent)})
    return pd.DataFrame(rows, columns=["item", "set", "absent"])


def _unscored(t: DatasetTables) -> pd.DataFrame:
    cov = t.coverage[~t.coverage["scored"].astype(bool)]
    out = _with_titles(cov[["set"]], t)
    out["reason"] = cov["reason"].fillna("").astype(str).to_numpy()
    out["missing"] = cov["genes_missing"].fillna("").astype(str).to_numpy()
    return out.reset_index(drop=True)


def collect_findings(tables: DatasetTables, *, options: FindingsOptions) -> Findings:
    """Collect the facts of one dataset's findings page from its tables.

    Parameters
    ----------
    tables
        The dataset's result tables (:class:`DatasetTables`).
    options
        The flag rule's thresholds and the page sizes.

    Returns
    -------
    Findings
    """
    t, o = tables, options
    flags = t.flags
    flagged = flags[flags["flagged"].astype(bool)].copy()
    flagged["_neg"] = -flagged["resistance_effect"]
    flagged = flagged.sort_values(["fdr", "_neg", "compartment", "set"]).drop(columns="_neg")
    primary = flags[flags["family"] == "primary"]
    qc = _qc_lines(t.qc_summary)
    counts = t.compartment.astype(str).value_counts()
    pairs = primary[["compartment", "set"]]
    n_units = t.patients.groupby(["patient", "condition"]).ngroups if len(t.patients) else 0
    size = {k: int(t.ingest.get(k, 0) or 0) for k in ("cells", "genes", "samples", "patients")}
    size["cells_kept"] = int(qc["cells_kept"].sum())
    return Findings(
        dataset=t.dataset,
        input_mode=input_mode(t.ingest),
        matrix=_matrix_words(t.ingest),
        size=size,
        qc=qc,
        compartments=counts.sort_values(ascending=False, kind="stable"),
        n_primary=len(primary),
        n_primary_tested=int(primary["p"].notna().sum()),
        flagged=_with_titles(flagged, t).reset_index(drop=True),
        candidates=_with_titles(strongest_candidates(flags, options=o), t),
        conditions=condition_facts(t.conditions, t.composition, n=o.n_rows),
        n_patients=int(n_units),
        deviations=_with_titles(top_deviations(t.patients, pairs=pairs, n=o.n_rows), t),
        missing_card=_missing_card(t),
        unscored=_unscored(t),
        lineages_absent=[c for c in LINEAGES if counts.get(c, 0) == 0],
        ingest_notes=tuple(str(n) for n in t.ingest.get("notes") or ()),
        options=o,
    )
