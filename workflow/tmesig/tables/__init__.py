"""The report's tables as self-contained, sortable HTML pages.

Every table the report shows (:data:`SPECS`) becomes ``results/{dataset}/tables/<name>.html``:
one page with the rows sorted by evidence where the table has an FDR
(:func:`sort_by_evidence`), sortable and searchable in the browser (itables, offline: the
DataTables code is embedded, nothing is fetched), and every column defined under it
(:mod:`tmesig.columns`). Per-cell tables are shown as counts (:func:`compartment_counts`,
:func:`subset_counts`); large tables are capped at ``max_rows`` rows and the page says so.

Why itables: sortable columns offline in one file with no extra dependency (its offline
bundle is ~1 MB per page); great-tables' interactive mode loads React from a CDN.

Modules: ``_sort``, ``_views``, ``_render`` (:func:`render_page`), ``_specs`` (:data:`SPECS`).
"""

from pathlib import Path

import pandas as pd

from ._render import render_page, round_significant
from ._sort import sort_by_evidence
from ._specs import SPECS, TableSpec
from ._views import compartment_counts, subset_counts

__all__ = [
    "SPECS",
    "TableSpec",
    "compartment_counts",
    "read_table",
    "render_page",
    "render_table",
    "round_significant",
    "sort_by_evidence",
    "subset_counts",
]


def read_table(path: str | Path, *, usecols: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A TSV written by tmesig: only empty fields are missing (a condition named ``NA`` stays).

    Parameters
    ----------
    path
        The file.
    usecols
        Columns to read (the others are skipped; absent ones are ignored).
    """
    wanted = None if usecols is None else set(usecols)
    return pd.read_csv(
        path,
        sep="\t",
        keep_default_na=False,
        na_values=[""],
        usecols=None if wanted is None else (lambda c: c in wanted),
        low_memory=False,
    )


def render_table(
    table: pd.DataFrame, spec: TableSpec, *, source: str = "", max_rows: int = 1000
) -> str:
    """The HTML page of one table: its view, sorted by evidence, with column definitions.

    Parameters
    ----------
    table
        The source table as read from its file.
    spec
        What to show (see :class:`TableSpec`).
    source
        The source file, named in the page.
    max_rows
        Rows shown at most.
    """
    shown = spec.view(table) if spec.view is not None else table
    if spec.effect is not None or "fdr" in shown.columns:
        shown = sort_by_evidence(shown, effect=spec.effect, absolute=spec.absolute, ties=spec.ties)
    return render_page(
        shown, name=spec.name, title=spec.title, intro=spec.intro, source=source, max_rows=max_rows
    )
