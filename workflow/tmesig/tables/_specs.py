"""Which tables the report shows, how each is sorted, and where it goes."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from ._views import compartment_counts, subset_counts

__all__ = ["SPECS", "TableSpec"]

_QC, _COMP, _SIG, _FLAGS = (
    "1. Quality control",
    "2. Compartments",
    "3. Signatures",
    "4. Flags",
)
_COND, _ENR = "5. Conditions and composition", "6. Enrichment"
_BY_EVIDENCE = "Sorted by evidence: FDR, then p, then {effect} (largest first); untested last."


@dataclass(frozen=True)
class TableSpec:
    """One HTML table of the report.

    Attributes
    ----------
    name
        Output name (``results/{dataset}/tables/<name>.html``) and the table's name in
        :data:`tmesig.columns.TABLES`.
    source
        The input table it is made from (a :class:`~tmesig.workflow_paths.WorkflowPaths`
        attribute name).
    title, intro
        Heading and a sentence saying what a row is and how rows are ordered.
    category
        The report category it is shown in.
    effect, absolute, ties
        Sort by evidence with this effect column (see
        :func:`tmesig.tables.sort_by_evidence`); ``None``: keep the file's order.
    view
        Builds the reader view from the source table (per-cell tables are summarised).
    usecols
        Columns read from the source (``None``: all).
    """

    name: str
    source: str
    title: str
    intro: str
    category: str
    effect: str | None = None
    absolute: bool = False
    ties: tuple[str, ...] = ()
    view: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    usecols: tuple[str, ...] | None = None


def _evidence(effect: str) -> str:
    return _BY_EVIDENCE.format(effect=effect)


_ALL = (
    TableSpec(
        "qc_summary",
        "qc_summary",
        "QC per sample",
        "One row per sample: thresholds and the cells removed for each reason.",
        _QC,
    ),
    TableSpec(
        "compartment_counts",
        "annotation",
        "Cells per compartment",
        "The per-cell calls of annotation.tsv counted per compartment, largest first.",
        _COMP,
        view=compartment_counts,
        usecols=("cell", "cluster", "compartment", "confidence", "cell_compartment"),
    ),
    TableSpec(
        "annotation_clusters",
        "annotation_clusters",
        "Compartment call per cluster",
        "One row per Leiden cluster: its call, confidence and mean marker scores.",
        _COMP,
    ),
    TableSpec(
        "label_agreement",
        "label_agreement",
        "Agreement with the authors' labels",
        "Cells by tmesig compartment (rows) and author label (columns).",
        _COMP,
    ),
    TableSpec(
        "celltypist_agreement",
        "celltypist_agreement",
        "Agreement with CellTypist",
        "Cells by tmesig compartment (rows) and CellTypist label (columns).",
        _COMP,
    ),
    TableSpec(
        "subset_counts",
        "annotation_subsets",
        "Cells per subset",
        "The final subset call "
        "of annotation_subsets.tsv counted per lineage; the per-cell call (cell_subset) is "
        "summarised as the cells that agree with it.",
        _COMP,
        view=subset_counts,
        usecols=("cell", "lineage", "final_subset", "subset_confidence", "cell_subset"),
    ),
    TableSpec(
        "annotation_subclusters",
        "annotation_subclusters",
        "Subset call per sub-cluster",
        "One row per sub-cluster of a lineage: its subset call and confidence.",
        _COMP,
    ),
    TableSpec(
        "coverage",
        "coverage",
        "Gene coverage per set",
        "One row per gene set: the genes found in the data, and whether the set was scored.",
        _SIG,
    ),
    TableSpec(
        "genes",
        "genes",
        "Genes by compartment and state",
        "One row per level x compartment x gene (card genes, genes of unscored or "
        "lineage-spanning sets), in the file's order: lineages, then states by lineage.",
        _SIG,
    ),
    TableSpec(
        "flags",
        "flags",
        "Flags: compartment x gene set",
        "One row per compartment x scored set. " + _evidence("resistance_effect"),
        _FLAGS,
        effect="resistance_effect",
        ties=("set", "compartment"),
    ),
    TableSpec(
        "compartments",
        "compartments",
        "Mean score per compartment x sample",
        "Pseudobulk of the cells' scores: one row per compartment x sample.",
        _FLAGS,
    ),
    TableSpec(
        "conditions",
        "conditions",
        "Condition comparison",
        "One row per compartment x set, patients as the unit. " + _evidence("|resistance_effect|"),
        _COND,
        effect="resistance_effect",
        absolute=True,
        ties=("set", "compartment"),
    ),
    TableSpec(
        "composition",
        "composition",
        "Composition test",
        "One row per level × denominator × lineage or state: its share of the denominator's "
        "cells compared between conditions (propeller). " + _evidence("|std_effect|"),
        _COND,
        effect="std_effect",
        absolute=True,
        ties=("level", "denominator", "compartment"),
    ),
    TableSpec(
        "enrichment",
        "enrichment",
        "Gene-set enrichment (gseapy prerank)",
        "One row per compartment x gene set. " + _evidence("|nes|"),
        _ENR,
        effect="nes",
        absolute=True,
        ties=("group", "collection", "term"),
    ),
    TableSpec(
        "de_conditions",
        "de_conditions",
        "Genes between conditions (pseudobulk, pydeseq2)",
        "One row per compartment x gene (lineages and states), patients as the unit; at most "
        "1,000 rows shown, the whole table is de_conditions.tsv. " + _evidence("|stat|"),
        _COND,
        effect="stat",
        absolute=True,
        ties=("level", "compartment", "gene"),
    ),
    TableSpec(
        "enrichment_conditions",
        "enrichment_conditions",
        "Gene-set enrichment between conditions (gseapy prerank)",
        "One row per compartment x gene set, genes ranked by the condition statistic. "
        + _evidence("|nes|"),
        _ENR,
        effect="nes",
        absolute=True,
        ties=("level", "compartment", "source", "gene_set"),
    ),
)

#: Output name -> spec, in report order.
SPECS: Mapping[str, TableSpec] = MappingProxyType({s.name: s for s in _ALL})
