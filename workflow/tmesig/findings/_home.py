"""The report's home page: each dataset's findings first, then the workflow description.

Snakemake renders the ``report:`` text (reStructuredText, through Jinja2) as the report's
home page. :func:`report_home` writes a copy of the workflow description with the body of
every ``summary.html`` that exists placed before it (a ``raw`` HTML block, its styles
scoped to the block, figures left on the dataset's page), so the report opens on what was
found.
"""

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

from ._render import _CSS

__all__ = ["report_home"]

_SCOPE = "tmesig-findings"
#: The report's own typography puts backticks around inline code: not in the findings.
_REPORT_FIXES = f".{_SCOPE} code::before,.{_SCOPE} code::after{{content:none}}"
_BODY = re.compile(r"<body>(.*)</body>", re.S)
_FIGURE = re.compile(r"<figure>.*?</figure>", re.S)
_FIGURE_NOTE = '<p class="source">(The figure is on the dataset\'s page, category 0. Findings.)</p>'


def _scoped_css(css: str) -> str:
    """Prefix every selector with the block's class (``body`` becomes the block itself)."""
    rules = []
    for rule in css.replace("\n", "").split("}"):
        if "{" not in rule:
            continue
        selectors, decls = rule.split("{", 1)
        scoped = [
            f".{_SCOPE}" if s.strip() == "body" else f".{_SCOPE} {s.strip()}"
            for s in selectors.split(",")
        ]
        rules.append(f"{','.join(scoped)}{{{decls}}}")
    return "".join(rules)


def report_home(description: str | Path, pages: Sequence[str | Path], out: str | Path) -> str:
    """The path of the report's home text: the findings pages, then ``description``.

    Parameters
    ----------
    description
        The workflow description (reStructuredText), e.g. ``workflow/report/workflow.rst``.
    pages
        The datasets' ``summary.html`` files; those that do not exist yet are skipped.
    out
        Where to write the combined text (only when at least one page exists).

    Returns
    -------
    str
        ``out`` (absolute) when a findings page was found, else ``description`` unchanged.
    """
    bodies = []
    for page in pages:
        page = Path(page)
        match = _BODY.search(page.read_text(encoding="utf-8")) if page.is_file() else None
        if match:
            # docutils refuses lines over 10,000 characters: figures (embedded images) stay
            # on the dataset's own page, and each element starts a line
            body = _FIGURE.sub(_FIGURE_NOTE, match.group(1).strip())
            bodies.append(re.sub(r">\s*<", ">\n<", body))
    if not bodies:
        return str(description)
    block = f"<style>{_scoped_css(_CSS)}{_REPORT_FIXES}</style>\n" + "\n<hr>\n".join(
        f'<div class="{_SCOPE}">\n{body}\n</div>' for body in bodies
    )
    # Jinja2 renders the text before docutils: {% raw %} keeps the HTML as it is
    raw = textwrap.indent("{% raw %}\n" + block + "\n{% endraw %}", "   ")
    text = f".. raw:: html\n\n{raw}\n\n" + Path(description).read_text(encoding="utf-8")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return str(out)
