"""Plain-language pieces of figure text: directions, coverage, score labels, sort keys."""

import re
from typing import Any

import pandas as pd

from ..signatures import GeneSet

__all__ = ["coverage_text", "direction_text", "natural_key", "score_label", "short_title"]

#: Colour-bar label per scoring method (``method=`` in ``coverage.tsv``).
_METHOD_LABELS = {
    "mean_diff": "score (set genes − matched control genes)",
    "scanpy": "score (set genes − matched control genes)",
    "rank": "rank score (UCell-style, 0–1)",
}


def natural_key(label: Any) -> tuple:
    """Sort key that puts ``s2`` before ``s10`` and numbers before words.

    Parameters
    ----------
    label : Any
        A label (converted to ``str``).
    """
    parts = re.split(r"(\d+)", str(label))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p)


def direction_text(direction: str) -> str:
    """``"high = resistance"`` for ``up`` sets, ``"low = resistance"`` for ``down`` sets.

    Parameters
    ----------
    direction : str
        A gene set's ``direction``.
    """
    return "low = resistance" if direction == "down" else "high = resistance"


def coverage_text(gene_set: GeneSet, coverage: pd.DataFrame | None) -> str:
    """``"6/8 genes"``: genes of the set found in the data, from ``coverage.tsv``.

    Parameters
    ----------
    gene_set : GeneSet
        The set.
    coverage : pandas.DataFrame, optional
        The score stage's ``coverage.tsv`` (``set``, ``n_found``, ``n_genes``); without it, or
        without the set's row, the set's size alone (``"8 genes"``).
    """
    if coverage is not None and "set" in coverage.columns:
        row = coverage[coverage["set"].astype(str) == gene_set.name]
        if len(row):
            r = row.iloc[0]
            return f"{int(r['n_found'])}/{int(r['n_genes'])} genes"
    return f"{len(gene_set.genes)} genes"


def score_label(coverage: pd.DataFrame | None) -> str:
    """Colour-bar label of a score: what the score is, from ``coverage.tsv``'s ``method``.

    Parameters
    ----------
    coverage : pandas.DataFrame, optional
        The score stage's ``coverage.tsv``; its ``method`` column holds ``method=<name>;...``.
    """
    if coverage is not None and "method" in coverage.columns and len(coverage):
        match = re.search(r"method=([A-Za-z_]+)", str(coverage["method"].iloc[0]))
        if match and match.group(1) in _METHOD_LABELS:
            return _METHOD_LABELS[match.group(1)]
    return "gene-set score"


def short_title(title: str, *, width: int = 42) -> str:
    """The title cut to ``width`` characters (an ellipsis marks the cut).

    Parameters
    ----------
    title : str
        A gene set's title.
    width : int
        Maximum length.
    """
    return title if len(title) <= width else title[: width - 1].rstrip() + "…"
