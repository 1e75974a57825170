"""One-line definitions of every column of every table tmesig writes.

``TABLES[name][column]`` is the definition of a fixed column; columns named by the data
(``score_<compartment>``, one column per gene set, one per author label...) are defined by
``PATTERNS[name]``, a tuple of ``(prefix, definition)`` (prefix ``""`` matches any column).
Table names are the :class:`tmesig.workflow_paths.WorkflowPaths` attribute of the file
(``flags``, ``qc_summary``...), plus the reader views of :mod:`tmesig.tables`
(``compartment_counts``, ``subset_counts``). The HTML tables show them under each table.

Modules: ``_cells`` (QC, compartments, subsets, agreement), ``_stats`` (library, coverage,
flags, conditions, composition, enrichment), ``_de`` (gene-level condition tables),
``_views`` (the reader views).
"""

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from . import _cells, _de, _stats, _views

__all__ = ["INPUT_MODE", "NOTE", "PATTERNS", "TABLES", "define", "definitions", "undefined"]

#: The one column of a table written when there is nothing to compute (no condition...).
NOTE = "why the table has no results, and what to supply to get them"
#: The column several tables carry to say what the input matrix held.
INPUT_MODE = "what the input held: counts, normalised (log values only) or panel (few genes)"

_TABLES: dict[str, Mapping[str, str]] = {
    "qc_metrics": _cells.QC_METRICS,
    "qc_summary": _cells.QC_SUMMARY,
    "annotation": _cells.ANNOTATION,
    "annotation_lineages": _cells.ANNOTATION,
    "annotation_clusters": _cells.ANNOTATION_CLUSTERS,
    "label_agreement": _cells.AGREEMENT,
    "celltypist_agreement": _cells.AGREEMENT,
    "annotation_markers": _cells.ANNOTATION_MARKERS,
    "annotation_subsets": _cells.ANNOTATION_SUBSETS,
    "annotation_subclusters": _cells.ANNOTATION_SUBCLUSTERS,
    "library_table": _stats.LIBRARY,
    "coverage": _stats.COVERAGE,
    "genes": _stats.GENES,
    "compartments": _stats.COMPARTMENTS,
    "flags": _stats.FLAGS,
    "conditions": _stats.CONDITIONS,
    "composition": _stats.COMPOSITION,
    "composition_by_patient": _stats.COMPOSITION_BY_PATIENT,
    "enrichment": _stats.ENRICHMENT,
    "de_conditions": _de.DE_CONDITIONS,
    "enrichment_conditions": _de.ENRICHMENT_CONDITIONS,
    "compartment_counts": _views.COMPARTMENT_COUNTS,
    "subset_counts": _views.SUBSET_COUNTS,
}

#: Table name -> column -> definition (read-only).
TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {k: MappingProxyType(dict(v)) for k, v in _TABLES.items()}
)
#: Table name -> ((prefix, definition), ...) for the columns named by the data.
PATTERNS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {**_cells.PATTERNS, **_stats.PATTERNS}
)


def define(table: str, column: str) -> str | None:
    """The definition of one column of one table, or ``None`` when it has none.

    Parameters
    ----------
    table
        Table name (a key of :data:`TABLES`).
    column
        Column name as written in the file.

    Raises
    ------
    KeyError
        ``table`` is not a table tmesig writes.
    """
    fixed = TABLES[table]
    if column in fixed:
        return fixed[column]
    for prefix, text in PATTERNS.get(table, ()):
        if column.startswith(prefix) and column != "note":
            return text
    if column == "input_mode":
        return INPUT_MODE
    return NOTE if column == "note" else None


def definitions(table: str, columns: Iterable[str]) -> dict[str, str]:
    """Column -> definition for the defined ones among ``columns`` (in their order).

    Parameters
    ----------
    table
        Table name.
    columns
        Column names as written in the file.
    """
    out = {}
    for c in columns:
        text = define(table, str(c))
        if text is not None:
            out[str(c)] = text
    return out


def undefined(table: str, columns: Iterable[str]) -> list[str]:
    """The columns of ``columns`` that have no definition (should be empty).

    Parameters
    ----------
    table
        Table name.
    columns
        Column names as written in the file.
    """
    return [str(c) for c in columns if define(table, str(c)) is None]
