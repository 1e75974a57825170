"""Condition figures: forest plot of condition effects, composition per patient."""

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..constants import COL_LEVEL, COL_PARENT, LEVEL_LINEAGE, LEVEL_STATE, LEVELS
from ..signatures import GeneSet
from .colors import compartment_colors
from .note import note_figure
from .text import short_title

__all__ = ["composition_bars", "forest_conditions"]


def forest_conditions(
    table: pd.DataFrame, *, top: int = 30, sets: Iterable[GeneSet] | None = None
) -> Figure:
    """Forest plot of condition effects (test − reference, 95% CI) for the most significant rows.

    One panel per level present: lineages (rows ``T_NK · <set>``), then cell states (rows
    ``CD8_exhausted (T_NK) · <set>``), each with up to ``top`` rows.

    Parameters
    ----------
    table : pandas.DataFrame
        The conditions stage's table (``compartment``, ``set``, ``effect``, ``ci_low``,
        ``ci_high``, ``p``, ``significant``, ``test``, ``reference``; ``level`` and
        ``parent`` when present, else every row is a lineage; ``note``).
    top : int
        Rows shown per level, smallest ``p`` first.
    sets : iterable of GeneSet, optional
        The library: rows are then labelled with the sets' titles and directions.

    Returns
    -------
    matplotlib.figure.Figure
        The forest plot, or a framed note (with the table's ``note``) when nothing was tested.
    """
    tested = table[table["p"].notna()] if "p" in table.columns else table.iloc[0:0]
    if tested.empty:
        reason = "No condition comparison could be tested."
        if "note" in table.columns and len(table):
            reason += " " + str(table["note"].iloc[0])
        return note_figure(reason, title="Condition effects: nothing to show")
    titles = {
        gs.name: f"{short_title(gs.title, width=60)} ({'low' if gs.direction == 'down' else 'high'}"
        " = resistance)"
        for gs in sets or ()
    }
    level = tested.get(COL_LEVEL, pd.Series(LEVEL_LINEAGE, index=tested.index)).fillna(
        LEVEL_LINEAGE
    )
    panels = [
        tested[level == lv].sort_values(["p", "compartment", "set"], kind="stable").head(top)
        for lv in LEVELS
    ]
    panels = [(lv, rows.iloc[::-1]) for lv, rows in zip(LEVELS, panels, strict=True) if len(rows)]
    heights = [len(rows) + 1.5 for _, rows in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 0.3 * sum(heights) + 1.2), squeeze=False, sharex=True,
        gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    for ax, (lv, rows) in zip(axes[:, 0], panels, strict=True):
        _forest_panel(ax, rows, lv, titles)
    r = tested.iloc[0]
    axes[-1, 0].set_xlabel(
        f"score difference {r['test']} − {r['reference']} (95% CI; red: FDR ≤ alpha)"
    )
    axes[0, 0].set_title("Condition effects with patients as the unit")
    fig.tight_layout()
    return fig


def _forest_panel(ax: Axes, rows: pd.DataFrame, level: str, titles: dict[str, str]) -> None:
    """One level's rows: effect, CI, significant rows in red, labelled compartment · set."""
    y = np.arange(len(rows))
    colors = np.where(rows["significant"].astype(bool), "#d62728", "#555555")
    ax.errorbar(
        rows["effect"].to_numpy(float), y,
        xerr=[(rows["effect"] - rows["ci_low"]).to_numpy(float),
              (rows["ci_high"] - rows["effect"]).to_numpy(float)],
        fmt="none", ecolor=colors, elinewidth=1,
    )  # fmt: skip
    ax.scatter(rows["effect"], y, c=colors, s=18, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    parents = rows[COL_PARENT] if COL_PARENT in rows.columns else rows["compartment"]
    labels = [
        (f"{c} ({p})" if level == LEVEL_STATE and p != c else str(c)) + f" · {titles.get(s, s)}"
        for c, p, s in zip(rows["compartment"], parents, rows["set"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylabel("cell states" if level == LEVEL_STATE else "lineages", fontsize=9)


def _stacked(ax, table: pd.DataFrame, colors: dict[str, str], *, rows: pd.Index) -> None:
    """One stacked bar per (condition, patient) of ``rows``: the shares of ``table``."""
    wide = table.pivot_table(
        index=["condition", "patient"], columns="compartment", values="fraction", fill_value=0.0
    ).reindex(rows, fill_value=0.0)
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for comp in wide.columns:
        ax.bar(x, wide[comp].to_numpy(), bottom=bottom, color=colors[comp], label=comp, width=0.85)
        bottom += wide[comp].to_numpy()
    ax.set_xticks(
        x, [f"{p}\n{c}" if c != "NA" else p for c, p in wide.index], rotation=90, fontsize=7
    )
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))


def composition_bars(table: pd.DataFrame) -> Figure:
    """Stacked bars of lineage shares per patient, then of state shares per denominator.

    Parameters
    ----------
    table : pandas.DataFrame
        Long table: ``condition``, ``patient``, ``compartment``, ``fraction``; with
        ``level``, ``parent`` and ``denominator`` (``composition_by_patient.tsv``) the
        ``state`` rows get one panel per denominator with at least two states (a lineage,
        or a refined subset such as ``CD8_T``), whose bars are the shares of its states.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per (condition, patient) in every panel, coloured by
        :func:`tmesig.figures.colors.compartment_colors` (states in shades of their lineage).
    """
    if "level" in table.columns:
        lineage = table[table["level"] == LEVEL_LINEAGE]
        states = table[(table["level"] == LEVEL_STATE) & table["fraction"].notna()]
    else:
        lineage, states = table, table.iloc[0:0]
    panels = [("Lineage composition per patient", lineage, "fraction of assigned cells")]
    groups = states.groupby(["parent", "denominator"], sort=False) if len(states) else []
    for (parent, den), sub in groups:
        if sub["compartment"].nunique() < 2:  # one state: a share of 1, nothing to show
            continue
        label = den if den == parent else f"{den} ({parent})"
        panels.append((f"States among {label}", sub, f"fraction of {den} cells"))
    parents = dict(zip(states.get("compartment", []), states.get("parent", []), strict=True))
    colors = compartment_colors(
        list(table["compartment"].astype(str).unique()), parents=parents or None
    )
    rows = table[["condition", "patient"]].drop_duplicates()
    rows = pd.MultiIndex.from_frame(rows.sort_values(["condition", "patient"]))
    width = max(7, 0.35 * len(rows) + 3)
    ncol = 1 if len(panels) == 1 else 2
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(width * ncol, 4.5 * nrow), squeeze=False)
    for ax, (title, sub, ylabel) in zip(axes.flat, panels, strict=False):
        _stacked(ax, sub, colors, rows=rows)
        ax.set_xlabel("patient (and condition)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig
