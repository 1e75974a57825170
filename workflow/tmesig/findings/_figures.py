"""The two heatmaps of the findings: patients × compartment:set z-scores (lineages and cell
states), and gene set × compartment effects side by side over datasets.

Both use a diverging colour map centred at 0 with symmetric limits and a labelled colour
bar; missing values are grey. Figures are :class:`matplotlib.figure.Figure` objects made
without pyplot (no global state), to be saved by the caller.
"""

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

__all__ = ["datasets_heatmap", "patients_heatmap"]

_CMAP = "RdBu_r"
_MISSING = "#d9d9d9"


def _limit(values: np.ndarray, floor: float) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(max(floor, np.ceil(finite.max() * 2) / 2)) if finite.size else floor


def _draw(matrix: pd.DataFrame, *, size: tuple[float, float], floor: float, label: str):
    values = matrix.to_numpy(dtype=float)
    lim = _limit(values, floor)
    fig = Figure(figsize=(min(size[0], 40.0), min(size[1], 40.0)), layout="constrained")
    ax = fig.add_subplot()
    if values.size == 0:
        ax.text(0.5, 0.5, "nothing to draw: no compartment × set was measured", ha="center")
        ax.set_axis_off()
        return fig, ax
    ax.set_facecolor(_MISSING)
    cmap = colormaps[_CMAP]
    mesh = ax.pcolormesh(
        np.ma.masked_invalid(values),
        cmap=cmap,
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim),
        edgecolors="white",
        linewidth=0.3,
    )
    ax.set_xticks(np.arange(matrix.shape[1]) + 0.5, [str(c) for c in matrix.columns])
    ax.set_yticks(np.arange(matrix.shape[0]) + 0.5, [str(i) for i in matrix.index])
    ax.invert_yaxis()
    bar = fig.colorbar(mesh, ax=ax, shrink=0.8)
    bar.set_label(label)
    return fig, ax


def _patient_columns(d: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Column label per row (``lineage:set``, ``lineage/state:set``) and the column order
    (lineage columns first, then state columns grouped by lineage)."""
    comp = d["compartment"].astype(str)
    level = d["level"].astype(str) if "level" in d else pd.Series("lineage", index=d.index)
    parent = d["parent"].astype(str) if "parent" in d else comp
    where = comp.where(level != "state", parent + "/" + comp)
    col = where + ":" + d["set"].astype(str)
    order = (
        pd.DataFrame({"state": (level == "state").to_numpy(), "col": col.to_numpy()})
        .drop_duplicates()
        .sort_values(["state", "col"])["col"]
        .tolist()
    )
    return col, order


def patients_heatmap(patients: pd.DataFrame, *, pairs: pd.DataFrame | None = None) -> Figure:
    """Patients × compartment:set heatmap of the per-patient z-scores, lineages then states.

    Lineage columns read ``lineage:set``; state columns ``lineage/state:set`` (e.g.
    ``T_NK/CD8_exhausted:tcell_exhaustion``), so the figure shows which patient's tumour
    carries which programme in which compartment.

    Parameters
    ----------
    patients
        :func:`tmesig.findings.patient_scores` (a patient seen in several conditions is one
        row per condition, labelled ``patient (condition)``).
    pairs
        ``compartment``, ``set`` (and ``level``) pairs to show (e.g. the pre-specified
        ones); all by default.

    Returns
    -------
    Figure
    """
    d = patients
    if pairs is not None:
        on = [c for c in ("level", "compartment", "set") if c in pairs and c in d]
        d = d.merge(pairs[on].drop_duplicates(), on=on)
    cond = d["condition"].astype(str)
    plain = cond.isin(["", "NA", "nan"])
    label = d["patient"].astype(str).where(plain, d["patient"].astype(str) + " (" + cond + ")")
    col, order = _patient_columns(d)
    d = d.assign(row=label, col=col)
    matrix = d.pivot_table(index="row", columns="col", values="z", aggfunc="first", dropna=False)
    matrix = matrix.reindex(sorted(set(d["row"])), axis=0).reindex(order, axis=1)
    w = min(40.0, max(6.0, 0.16 * matrix.shape[1] + 2.5))
    h = max(2.5, 0.3 * matrix.shape[0] + 2.6)
    fig, ax = _draw(matrix, size=(w, h), floor=2.0, label="z-score\n(vs the other patients)")
    ax.tick_params(axis="x", labelrotation=90, labelsize=6)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel(
        "lineage:gene set, then lineage/state:gene set "
        "(grey: too few cells, or fewer than 3 patients)"
    )
    ax.set_ylabel("patient")
    ax.set_title("Per-patient mean scores by lineage and cell state, z-scored over patients")
    return fig


def datasets_heatmap(table: pd.DataFrame) -> Figure:
    """Gene set · compartment × dataset heatmap of the effect towards resistance.

    Flagged cells carry a ``*``; grey cells were not measured in that dataset.

    Parameters
    ----------
    table
        :func:`tmesig.findings.flags_by_dataset` (``dataset``, ``compartment``, ``set``,
        ``effect``, ``flagged``); the caller chooses the rows (e.g. the pre-specified pairs).

    Returns
    -------
    Figure
    """
    d = table.assign(row=table["set"].astype(str) + " · " + table["compartment"].astype(str))
    datasets = list(dict.fromkeys(d["dataset"].astype(str)))
    rows = sorted(set(d["row"]))
    effect = d.pivot_table(index="row", columns="dataset", values="effect", aggfunc="first")
    effect = effect.reindex(index=rows, columns=datasets)
    flagged = d.pivot_table(index="row", columns="dataset", values="flagged", aggfunc="any")
    flagged = flagged.reindex(index=rows, columns=datasets).eq(True)
    w = max(4.5, 1.1 * len(datasets) + 4.0)
    h = max(3.0, 0.2 * len(rows) + 1.8)
    fig, ax = _draw(effect, size=(w, h), floor=1.0, label="effect towards\nresistance (SD)")
    for i, j in zip(*np.nonzero(flagged.to_numpy()), strict=True):
        ax.text(j + 0.5, i + 0.5, "*", ha="center", va="center", fontsize=9, weight="bold")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xlabel("dataset (* flagged; grey: not measured)")
    ax.set_title("Gene set × compartment effects by dataset")
    return fig
