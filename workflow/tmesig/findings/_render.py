"""A page as a list of blocks, written as Markdown or as one self-contained HTML file.

Text is *inline content*: a plain string (always literal: escaped for Markdown and for
HTML, so a hostile sample or set name cannot inject a link or markup), a :class:`Link`, a
:class:`Code`, or a tuple of these. Images are linked from the Markdown and embedded
(base64) in the HTML, which needs no network and no other file.
"""

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Code",
    "Heading",
    "Image",
    "Items",
    "Link",
    "Para",
    "Table",
    "read_png",
    "to_html",
    "to_markdown",
]

#: Characters escaped in Markdown text.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
#: A link target must be a relative path or a fragment (no scheme: no ``javascript:``).
_SAFE_HREF = re.compile(r"^[A-Za-z0-9_.\-/#]+$")


@dataclass(frozen=True)
class Link:
    """A link to a file of the run (``href`` relative to the page)."""

    text: str
    href: str

    def __post_init__(self) -> None:
        if not _SAFE_HREF.match(self.href):
            raise ValueError(f"not a relative link: {self.href!r}")


@dataclass(frozen=True)
class Code:
    """A name shown as code (a set, a column, a file)."""

    text: str


Inline = str | Link | Code | tuple["Inline", ...]


def _md(x: Inline) -> str:
    if isinstance(x, tuple):
        return "".join(_md(p) for p in x)
    if isinstance(x, Link):
        return f"[{_md(x.text)}]({x.href})"
    if isinstance(x, Code):
        fence = "``" if "`" in x.text else "`"
        return f"{fence}{x.text}{fence}"
    return _MD_SPECIAL.sub(r"\\\1", str(x)).replace("\n", " ")


def _html(x: Inline) -> str:
    if isinstance(x, tuple):
        return "".join(_html(p) for p in x)
    if isinstance(x, Link):
        return f'<a href="{html.escape(x.href, quote=True)}">{html.escape(x.text)}</a>'
    if isinstance(x, Code):
        return f"<code>{html.escape(x.text)}</code>"
    return html.escape(str(x))


_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:62rem;
margin:1.5rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #444}h2{font-size:1.2rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f4f4f4;padding:0 .2rem;font-size:.9em}.source{color:#555;font-size:.85rem}
.lead{font-size:1.08rem;background:#f6f8fa;border-left:4px solid #3b6ea5;padding:.5rem .8rem}
img{max-width:100%}
"""


@dataclass(frozen=True)
class Heading:
    """A heading; ``level`` 1 is the page title."""

    text: Inline
    level: int = 2


@dataclass(frozen=True)
class Para:
    """A paragraph; ``lead`` marks the page's headline."""

    text: Inline
    lead: bool = False


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    items: tuple[Inline, ...]


@dataclass(frozen=True)
class Table:
    """A table of inline cells, with the file it comes from (``source``) and which columns
    are numbers (right-aligned)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    source: Inline = ""
    numeric: tuple[bool, ...] = field(default=())


@dataclass(frozen=True)
class Image:
    """A figure: ``src`` relative to the page; ``data`` the PNG bytes to embed in HTML."""

    src: str
    alt: str
    data: bytes = b""


Block = Heading | Para | Items | Table | Image


def _numeric(t: Table) -> tuple[bool, ...]:
    return t.numeric if len(t.numeric) == len(t.columns) else (False,) * len(t.columns)


def _md_table(b: Table) -> str:
    lines = ["| " + " | ".join(_md(c) for c in b.columns) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in _numeric(b)) + "|")
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in b.rows]
    if b.source:
        lines.append("\nSource: " + _md(b.source))
    return "\n".join(lines)


def to_markdown(blocks: Sequence[Block]) -> str:
    """The page as Markdown (GitHub flavour: pipe tables).

    Parameters
    ----------
    blocks
        The page.
    """
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md(b.text)}")
        elif isinstance(b, Para):
            out.append(f"**{_md(b.text)}**" if b.lead else _md(b.text))
        elif isinstance(b, Items):
            out.append("\n".join(f"- {_md(x)}" for x in b.items))
        elif isinstance(b, Table):
            out.append(_md_table(b))
        elif isinstance(b, Image):
            out.append(f"![{_md(b.alt)}]({b.src})")
    return "\n\n".join(out) + "\n"


def _html_table(b: Table) -> str:
    num = _numeric(b)
    head = "".join(f"<th>{_html(c)}</th>" for c in b.columns)
    rows = []
    for r in b.rows:
        cells = (
            f'<td class="num">{_html(c)}</td>' if n else f"<td>{_html(c)}</td>"
            for c, n in zip(r, num, strict=True)
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    src = f'<p class="source">Source: {_html(b.source)}</p>' if b.source else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{src}"


def _html_block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{_html(b.text)}</h{b.level}>"
    if isinstance(b, Para):
        return f'<p class="lead">{_html(b.text)}</p>' if b.lead else f"<p>{_html(b.text)}</p>"
    if isinstance(b, Items):
        return "<ul>" + "".join(f"<li>{_html(x)}</li>" for x in b.items) + "</ul>"
    if isinstance(b, Table):
        return _html_table(b)
    if isinstance(b, Image):
        src = (
            "data:image/png;base64," + base64.b64encode(b.data).decode("ascii")
            if b.data
            else html.escape(b.src, quote=True)
        )
        return f'<figure><img src="{src}" alt="{html.escape(b.alt, quote=True)}"></figure>'
    raise TypeError(f"not a page block: {b!r}")


def to_html(blocks: Sequence[Block], *, title: str) -> str:
    """The page as one self-contained HTML document (inline CSS, images embedded).

    Parameters
    ----------
    blocks
        The page.
    title
        The document's ``<title>``.
    """
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def read_png(path: str | Path) -> bytes:
    """The bytes of a PNG file, or ``b""`` when there is none (no figure).

    Parameters
    ----------
    path
        The PNG file.
    """
    p = Path(path)
    return p.read_bytes() if p.is_file() else b""
