"""A table as one self-contained, sortable HTML page (itables, offline), columns defined."""

import html

import numpy as np
import pandas as pd

from .. import columns

__all__ = ["render_page", "round_significant"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1em 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em 0; }
p.intro, p.rows { margin: .2em 0 .8em 0; max-width: 70em; }
p.rows { color: #555; }
h2 { font-size: 1.05em; margin-top: 1.5em; }
dl.columns { display: grid; grid-template-columns: max-content auto; gap: .2em 1em;
  font-size: .9em; max-width: 80em; }
dl.columns dt { font-family: monospace; font-weight: bold; }
dl.columns dd { margin: 0; }
table.dataTable { font-size: .85em; }
"""
#: Pattern-defined columns listed by name up to this many, then counted.
_LIST_NAMES = 6
#: Missing values (NaN) are shown as empty cells; sorting still uses the numbers.
_BLANK_NAN = (
    "function (data, type) { return (type === 'display' && typeof data === 'number' && "
    "isNaN(data)) ? '' : data; }"
)


def round_significant(table: pd.DataFrame, *, digits: int = 3) -> pd.DataFrame:
    """Float columns rounded to ``digits`` significant digits (still numbers: they sort).

    Parameters
    ----------
    table
        Any table.
    digits
        Significant digits kept.
    """
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            v = out[col].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.floor(np.log10(np.abs(v)))
            scale = np.where(np.isfinite(mag), 10.0 ** (digits - 1 - mag), 1.0)
            out[col] = np.where(np.isfinite(v) & (v != 0), np.round(v * scale) / scale, v)
    return out


def _definitions_html(table: str, cols: list[str]) -> str:
    """``<dl>`` of the columns' definitions; columns named by the data grouped by definition."""
    fixed = columns.TABLES[table]
    items: list[tuple[list[str], str]] = []  # (column names, definition), in column order
    by_text: dict[str, list[str]] = {}
    for col in cols:
        text = columns.define(table, col) or "(no definition)"
        if col in fixed or col == "note":
            items.append(([col], text))
        elif text in by_text:
            by_text[text].append(col)
        else:
            by_text[text] = [col]
            items.append((by_text[text], text))
    rows = []
    for names, text in items:
        label = ", ".join(names[:_LIST_NAMES])
        if len(names) > _LIST_NAMES:
            label += f", ... ({len(names)} columns)"
        rows.append(f"<dt>{html.escape(label)}</dt><dd>{html.escape(text)}</dd>")
    return '<dl class="columns">\n' + "\n".join(rows) + "\n</dl>"


def _datatable(table: pd.DataFrame, *, table_id: str, page_length: int) -> str:
    """The itables fragment (offline: the DataTables bundle is embedded once, in the page)."""
    from itables import JavascriptFunction, to_html_datatable
    from itables import options as itables_options
    from itables.javascript import generate_init_offline_itables_html

    init = generate_init_offline_itables_html(itables_options.dt_bundle)
    body = to_html_datatable(
        table,
        connected=False,
        table_id=table_id,
        showIndex=False,
        maxBytes=0,
        maxColumns=0,
        pageLength=page_length,
        lengthMenu=[10, 25, 50, 100, 500],
        scrollX=True,
        format_floats_in_python=False,
        classes="display compact nowrap cell-border",
        columnDefs=[{"targets": "_all", "render": JavascriptFunction(_BLANK_NAN)}],
        allow_html=False,
    )
    return init + body


def render_page(
    table: pd.DataFrame,
    *,
    name: str,
    title: str,
    intro: str = "",
    source: str = "",
    max_rows: int = 1000,
) -> str:
    """One self-contained HTML page: the table (sortable, searchable) and its column definitions.

    Works offline: the DataTables code is embedded (itables ``connected=False``). Text
    from the data is escaped, never interpreted as HTML.

    Parameters
    ----------
    table
        The rows to show, in the order to show them.
    name
        Table name in :data:`tmesig.columns.TABLES` (the definitions shown).
    title
        Page heading.
    intro
        One or two sentences above the table (how it is sorted, what a row is).
    source
        The file the table comes from (named in the page).
    max_rows
        At most this many rows are shown (the page says so); the file has them all.
    """
    n = len(table)
    shown = table.head(max_rows)
    if n > max_rows:
        rows = f"Showing the first {max_rows:,} of {n:,} rows (the rest are in the file)."
    else:
        rows = f"{n:,} row{'s' if n != 1 else ''}."
    if source:
        rows += f" File: {source}"
    page_length = 25 if len(shown) > 30 else max(len(shown), 10)
    cols = [str(c) for c in shown.columns]
    shown = round_significant(shown.set_axis(cols, axis=1))
    if not cols:
        grid = "<p>(empty table)</p>"
    else:
        grid = _datatable(shown, table_id=f"t_{name}", page_length=page_length)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        + (f'<p class="intro">{html.escape(intro)}</p>\n' if intro else "")
        + f'<p class="rows">{html.escape(rows)}</p>\n'
        + grid
        + "\n<h2>Columns</h2>\n"
        + _definitions_html(name, cols)
        + "\n</body>\n</html>\n"
    )
