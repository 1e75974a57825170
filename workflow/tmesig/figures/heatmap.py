"""Compartment × gene-set heatmap, sets grouped by mechanism category, flags marked."""

import textwrap
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..constants import (
    COL_LEVEL,
    COL_PARENT,
    LEVEL_STATE,
    SET_CATEGORIES,
    SET_CATEGORY_LABELS,
    UNASSIGNED,
)
from ..signatures import GeneSet
from .text import short_title

__all__ = ["MECHANISM_GROUPS", "heatmap_compartment_sets", "mechanism_group"]

#: Heatmap groups, in display order: the library's mechanism categories and their labels.
MECHANISM_GROUPS: Mapping[str, str] = SET_CATEGORY_LABELS
_OTHER = "other"
_MARK_FLAG, _MARK_P = "*", "·"


def mechanism_group(gene_set: GeneSet) -> str:
    """The heatmap group of a set: its mechanism ``category`` (plain-language label).

    Parameters
    ----------
    gene_set : GeneSet
        A set of the library; its ``category`` is one of
        :data:`tmesig.constants.SET_CATEGORIES`.

    Returns
    -------
    str
        A value of :data:`MECHANISM_GROUPS`, or ``"other"`` for a set without a category.
    """
    return MECHANISM_GROUPS.get(gene_set.category, _OTHER)


def _columns(names: Sequence[str], sets: Iterable[GeneSet] | None) -> list[tuple[str, str, str]]:
    """(name, group, label) per shown set, ordered by group, then direction, then name."""
    by_name = {gs.name: gs for gs in sets or ()}
    order = [*(MECHANISM_GROUPS[c] for c in SET_CATEGORIES), _OTHER]
    rows = []
    for name in names:
        gs = by_name.get(name)
        if gs is None:
            rows.append((order.index(_OTHER), 0, name, _OTHER, name))
            continue
        arrow = "↓" if gs.direction == "down" else "↑"
        label = f"{short_title(gs.title)} {arrow}"
        rows.append((order.index(mechanism_group(gs)), gs.direction == "down", name, "", label))
    rows.sort()
    return [(name, order[g], label) for g, _, name, _, label in rows]


def _marks(flags: pd.DataFrame, groupby: str, alpha: float) -> dict[tuple[str, str], str]:
    """``*`` for flagged (compartment, set) pairs, ``·`` for p ≤ alpha that is not flagged."""
    if flags.empty or "set" not in flags.columns:
        return {}
    out = {}
    p = flags["p"] if "p" in flags.columns else pd.Series(np.nan, index=flags.index)
    flagged = flags["flagged"].fillna(False).astype(bool) if "flagged" in flags else p * 0 > 0
    for c, s, f, pv in zip(flags[groupby], flags["set"], flagged, p, strict=True):
        if f:
            out[(str(c), str(s))] = _MARK_FLAG
        elif pd.notna(pv) and pv <= alpha:
            out[(str(c), str(s))] = _MARK_P
    return out


def heatmap_compartment_sets(
    compartments: pd.DataFrame,
    flags: pd.DataFrame,
    *,
    sets: Iterable[GeneSet] | None = None,
    groupby: str = "compartment",
    alpha: float = 0.05,
    level: str | None = None,
) -> Figure:
    """Compartment × set heatmap of sample-averaged scores, z-scored per set, flags marked.

    Parameters
    ----------
    compartments : pandas.DataFrame
        The flag stage's ``compartments.tsv`` (``groupby``, ``sample``, ``n_cells``, one
        column per set).
    flags : pandas.DataFrame
        The flag stage's ``flags.tsv`` (``groupby``, ``set``, ``p``, ``flagged``).
    sets : iterable of GeneSet, optional
        The library: columns are then titled by the sets' titles with their direction
        (↑ high = resistance, ↓ low = resistance) and grouped by :func:`mechanism_group`.
        Without it, columns are the set names, sorted.
    groupby : str
        The row column: ``compartment``, or any finer grouping (states) the tables share.
    alpha : float
        A ``·`` marks a pair whose p-value is at most ``alpha`` but which is not flagged.
    level : str, optional
        With tables that have a ``level`` column: the rows of this level only (``lineage``
        or ``state``; state rows are labelled ``state (lineage)``, grouped by lineage).
        ``None``: every row.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: the groups other than ``unassigned``; columns: sets, grouped with their group
        written above; ``*`` marks a flag (FDR within ``alpha`` and the other criteria of
        ``flags.tsv``), ``·`` an unadjusted p ≤ ``alpha``.
    """
    compartments, flags = _at_level(compartments, level), _at_level(flags, level)
    fixed = (groupby, "sample", "n_cells", COL_LEVEL, COL_PARENT)
    names = [c for c in compartments.columns if c not in fixed]
    cols = _columns(sorted(names), sets)
    comp = compartments[compartments[groupby].astype(str) != UNASSIGNED]
    means = comp.groupby(groupby, sort=True)[[c for c, _, _ in cols]].mean()
    labels = means.index.astype(str)
    if level == LEVEL_STATE and COL_PARENT in comp.columns:
        parent = comp.drop_duplicates(groupby).set_index(groupby)[COL_PARENT].astype(str)
        order = sorted(labels, key=lambda c: (parent.get(c, ""), c))
        means = means.loc[order]
        labels = pd.Index([f"{c} ({parent.get(c, '')})" for c in order])
    z = (means - means.mean(axis=0)) / means.std(axis=0, ddof=0).replace(0, np.nan)
    z = z.fillna(0.0)
    fig, ax = plt.subplots(figsize=(max(8, 0.3 * len(cols) + 4), 0.42 * len(means) + 5.5))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(range(len(cols)), [lab for _, _, lab in cols], rotation=90, fontsize=7)
    ax.set_yticks(range(len(means)), labels, fontsize=8)
    marks = _marks(flags, groupby, alpha)
    for i, c in enumerate(means.index.astype(str)):
        for j, (s, _, _) in enumerate(cols):
            if (c, s) in marks:
                mark = marks[(c, s)]
                bold = mark == _MARK_FLAG
                ax.text(j, i, mark, ha="center", va="center", fontsize=14 if bold else 18,
                        weight="bold" if bold else "normal")  # fmt: skip
    _group_labels(ax, [g for _, g, _ in cols])
    fig.colorbar(im, ax=ax, shrink=0.8, label="mean score, z-scored across rows")
    ax.set_ylabel("cell state (its lineage)" if level == LEVEL_STATE else groupby)
    ax.set_xlabel(
        f"gene set (↑ high = resistance, ↓ low = resistance)\n"
        f"{_MARK_FLAG} flagged (FDR ≤ {alpha:g} and effect towards resistance) · "
        f"{_MARK_P} p ≤ {alpha:g}, not flagged"
    )
    what = "cell state" if level == LEVEL_STATE else "compartment"
    ax.set_title(
        f"Mean score per {what} (mean over samples), by where the mechanism acts",
        pad=40,
    )
    fig.tight_layout()
    return fig


def _at_level(table: pd.DataFrame, level: str | None) -> pd.DataFrame:
    """The rows of one level (all rows without ``level`` or without a ``level`` column)."""
    if level is None or COL_LEVEL not in table.columns:
        return table
    return table[table[COL_LEVEL].astype(str) == level]


def _group_labels(ax: plt.Axes, groups: Sequence[str]) -> None:
    """Vertical separators between set groups and the group names above the heatmap."""
    start = 0
    for j in range(1, len(groups) + 1):
        if j == len(groups) or groups[j] != groups[start]:
            if j < len(groups):
                ax.axvline(j - 0.5, color="black", lw=1.2)
            label = textwrap.fill(groups[start], max(10, 3 * (j - start)), break_long_words=False)
            ax.text((start + j - 1) / 2, -0.6, label, ha="center", va="bottom", fontsize=8,
                    clip_on=False)  # fmt: skip
            start = j
