"""Stage ``tables``: the report's tables as sortable HTML pages (:mod:`tmesig.tables`).

Inputs
    One per source table, named as in :class:`tmesig.workflow_paths.WorkflowPaths`
    (``flags``, ``qc_summary``, ``annotation``...); ``annotation_subsets`` and
    ``annotation_subclusters`` only when the subset stage runs.
Outputs
    One page per :data:`tmesig.tables.SPECS` name (``flags``, ``compartment_counts``,
    ``subset_counts``...): ``results/{dataset}/tables/<name>.html``. A page whose source was
    not made (subsets disabled) says so.
Params
    ``max_rows``: rows shown at most per table.
"""

import html
from pathlib import Path

from .. import tables
from ._io import StageIO

__all__ = ["run"]


def _missing_page(title: str, source: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><h1>{html.escape(title)}</h1><p>Not made in this run: "
        f"{html.escape(source)} is written by the subset stage (subsets.enabled: false)."
        "</p></body></html>\n"
    )


def run(io: StageIO) -> str:
    """Write one HTML page per output; return how many.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"<n> tables as sortable HTML pages"``.
    """
    max_rows = int(io.params.get("max_rows", 1000))
    for name, out in io.output.items():
        spec = tables.SPECS[name]
        src = io.input.get(spec.source)
        if not src:
            Path(out).write_text(_missing_page(spec.title, f"{spec.source}.tsv"))
            continue
        table = tables.read_table(src, usecols=spec.usecols)
        page = tables.render_table(table, spec, source=str(src), max_rows=max_rows)
        Path(out).write_text(page, encoding="utf-8")
    return f"{len(io.output)} tables as sortable HTML pages"
