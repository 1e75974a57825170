"""The sample sheet as a table of strings: read as UTF-8 TSV, every cell and name stripped.

Used by :func:`tmesig.sheet.read_sheet`, which then checks the rows. Lines whose first
non-blank character is ``#`` are comments and blank (or whitespace-only) lines are skipped;
a ``#`` anywhere else is part of the value. Fields may be quoted (``"a b"``). Spreadsheet
and editor artefacts are read as meant or refused with a message that names them: a
byte-order mark, CRLF line ends and trailing tabs are ignored; a row with more values than
the header, a header naming a column twice or with an empty name, a NUL byte, a file that is
not UTF-8 (Excel's "Unicode text" is UTF-16) and a comma-separated file are refused.
"""

import csv
from pathlib import Path

import pandas as pd

from .io.errors import InputError
from .io.urls import redact

__all__ = ["read_table"]

_HEADER = "dataset, path, sha256, sample_col, patient_col, condition_col"


def _text(path: str) -> str:
    """The file's text (UTF-8, a BOM dropped); refuse a missing, undecodable or binary file."""
    if not Path(path).exists():
        raise InputError(
            f"{path}: sample sheet not found; create it (see config/samples.tsv) or set 'samples' "
            "in the config"
        )
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise InputError(
            f"{path}: the sample sheet cannot be read ({err.strerror}). Fix: give the path of "
            "a tab-separated text file in 'samples' of the config"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = "UTF-16 text (Excel's 'Unicode text')" if utf16 else "not UTF-8 text"
        raise InputError(
            f"{path}: the sample sheet is {what}: byte {raw[err.start]:#04x} at line {line} "
            "cannot be read. Fix: save it as UTF-8 tab-separated text (in Excel: 'Text (Tab "
            "delimited)' with UTF-8, or iconv -f <encoding> -t UTF-8)"
        ) from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise InputError(
            f"{path}: line {line} of the sample sheet holds a NUL byte (the file is binary or "
            "damaged; the value would be cut there). Fix: write the sheet as plain UTF-8 text"
        )
    return text


def _rows(path: str, text: str) -> list[list[str]]:
    """The non-comment, non-blank lines split into stripped fields (quotes honoured)."""
    lines = [x for x in text.splitlines() if x.strip() and not x.lstrip().startswith("#")]
    try:
        rows = list(csv.reader(lines, delimiter="\t", strict=True))
    except csv.Error as err:
        raise InputError(
            f"{path}: not a readable tab-separated sample sheet ({err}). Fix: write it as TSV "
            f"with a header ({_HEADER})"
        ) from None
    return [[cell.strip() for cell in row] for row in rows]


def _header(path: str, rows: list[list[str]]) -> list[str]:
    if not rows:
        raise InputError(
            f"{path}: not a readable tab-separated sample sheet (no header line). Fix: write it "
            f"as TSV with a header ({_HEADER})"
        )
    header = list(rows[0])
    while header and not header[-1]:
        header.pop()  # a trailing tab
    comma = len(header) == 1 and "," in header[0]
    missing = [c for c in ("dataset", "path") if c not in header]
    if missing:
        hint = " - it looks comma-separated" if comma else ""
        raise InputError(
            f"{path}: the sample sheet lacks the column(s) {', '.join(missing)} (it has: "
            f"{redact(', '.join(header))}){hint}. Fix: add them to the header, separated by tabs"
        )
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice or "" in header:
        what = f"names {', '.join(twice)} twice" if twice else "has a column without a name"
        raise InputError(
            f"{path}: the sample sheet's header {what}. Fix: give each column one distinct "
            "name (the header is the first line that is not a comment)"
        )
    return header


def read_table(path: str) -> pd.DataFrame:
    """The sample sheet as strings: one column per header name, "" for a missing value.

    Parameters
    ----------
    path
        The tab-separated sample sheet.

    Returns
    -------
    DataFrame
        One row per data line; every cell and column name stripped of surrounding spaces.

    Raises
    ------
    InputError
        A missing, unreadable, non-UTF-8 or binary file, a header without ``dataset`` and
        ``path`` or naming a column twice, or a row with more values than the header.
    """
    rows = _rows(path, _text(path))
    header = _header(path, rows)
    body = []
    for i, row in enumerate(rows[1:]):
        extra = [x for x in row[len(header) :] if x]
        if extra:
            shown = redact(", ".join(map(repr, extra[:3])))
            raise InputError(
                f"{path}: not a readable tab-separated sample sheet - row {i + 1} has "
                f"{len(header) + len(extra)} values but the header has {len(header)} columns "
                f"(extra: {shown}): a tab inside a value, or a column missing from the header? "
                "Fix: write it as TSV with one tab between columns and a header name for each"
            )
        body.append(row[: len(header)] + [""] * (len(header) - len(row)))
    return pd.DataFrame(body, columns=header, dtype=str)
