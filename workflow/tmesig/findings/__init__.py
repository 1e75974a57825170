"""Findings: what a run found, in plain words, with every number linked to its table.

Per dataset, :func:`collect_findings` reads the result tables (:class:`DatasetTables`:
ingest summary, QC, coverage, flags, conditions, composition, annotation, and the
per-patient means of :func:`patient_scores`) into :class:`Findings`; :func:`findings_page`
turns them into page blocks that :func:`to_markdown` and :func:`to_html` write
(``results/{dataset}/summary.md`` and ``summary.html``). When nothing is flagged, the
strongest candidates are listed with the exact reason each is not a flag
(:func:`not_flagged_reason`, the rule of :func:`tmesig.flag.calibrate_flags`).

Across datasets, :func:`flags_by_dataset` puts flags, condition effects and coverage side
by side, :func:`datasets_heatmap` draws them and :func:`cross_page` states them
(``results/summary/``).

Modules: ``_options`` (:class:`FindingsOptions`), ``_reasons`` (why not a flag),
``_patients`` (per-patient z-scores), ``_conditions`` and ``_facts`` (facts from tables),
``_format``, ``_document`` and ``_sections`` (the page in words), ``_render`` (Markdown and
self-contained HTML), ``_figures`` (heatmaps), ``_cross`` and ``_cross_page`` (datasets
side by side).
"""

from ._conditions import ConditionFacts, condition_facts
from ._cross import CROSS_COLUMNS, flags_by_dataset
from ._cross_page import HEATMAP_NAME, TABLE_NAME, cross_page
from ._document import PATIENTS_HEATMAP, findings_page
from ._facts import DatasetTables, Findings, collect_findings, input_mode
from ._figures import datasets_heatmap, patients_heatmap
from ._home import report_home
from ._options import FindingsOptions
from ._patients import PATIENT_COLUMNS, patient_scores, top_deviations
from ._reasons import not_flagged_reason, strongest_candidates
from ._render import read_png, to_html, to_markdown

__all__ = [
    "CROSS_COLUMNS",
    "HEATMAP_NAME",
    "PATIENTS_HEATMAP",
    "PATIENT_COLUMNS",
    "TABLE_NAME",
    "ConditionFacts",
    "DatasetTables",
    "Findings",
    "FindingsOptions",
    "collect_findings",
    "condition_facts",
    "cross_page",
    "datasets_heatmap",
    "findings_page",
    "flags_by_dataset",
    "input_mode",
    "not_flagged_reason",
    "patient_scores",
    "patients_heatmap",
    "read_png",
    "report_home",
    "strongest_candidates",
    "to_html",
    "to_markdown",
    "top_deviations",
]
