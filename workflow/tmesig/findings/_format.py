"""Small formatting helpers shared by the page builders: links to tables, numbers, set names."""

import pandas as pd

from ._render import Code, Link

__all__ = ["count", "gene_set", "num", "tab"]


def tab(name: str, href: str | None = None) -> Link:
    """A link to a result table (by default next to the page).

    Parameters
    ----------
    name
        The file name shown.
    href
        The link target, when not ``name`` itself.
    """
    return Link(name, href or name)


def num(x: object, spec: str = ".2g") -> str:
    """A number formatted with ``spec``, or an en dash when missing.

    Parameters
    ----------
    x
        The number (NaN or ``None`` = missing).
    spec
        A format spec, e.g. ``"+.2f"``.
    """
    return "–" if x is None or pd.isna(x) else format(float(x), spec)


def count(n: object) -> str:
    """An integer with thousands separators.

    Parameters
    ----------
    n
        The count.
    """
    return f"{int(n):,}"


def gene_set(name: str, title: str) -> tuple:
    """A gene set as its title with its id in code.

    Parameters
    ----------
    name
        The set's id.
    title
        Its title.
    """
    return (f"{title} (", Code(name), ")")
