"""The composition figure: a lineage panel, then one panel per denominator of the states."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from tmesig import composition, report


def _cells():
    rows = []
    spec = {  # patient, condition -> (state, lineage, n)
        ("p1", "R"): [("CD8_exhausted", "T_NK", 2), ("CD8_effector_memory", "T_NK", 6)],
        ("p2", "NR"): [("CD8_exhausted", "T_NK", 6), ("CD8_effector_memory", "T_NK", 2)],
    }
    for (pat, cond), items in spec.items():
        for state, lin, n in items:
            rows += [(pat, cond, state, lin)] * n
        rows += [(pat, cond, "CAF", "fibroblast")] * 4  # the only fibroblast state: no panel
    df = pd.DataFrame(rows, columns=["patient", "condition", "state", "lineage"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def test_state_panels_show_the_shares_within_each_denominator():
    df = _cells()
    hierarchy = {"CD8_exhausted": "CD8_T", "CD8_effector_memory": "CD8_T"}
    table = pd.concat(
        [
            composition.composition_table(
                compartment=df["lineage"], patient=df["patient"], condition=df["condition"]
            ),
            composition.state_composition_table(
                state=df["state"],
                lineage=df["lineage"],
                patient=df["patient"],
                condition=df["condition"],
                hierarchy=hierarchy,
            ),
        ]
    )
    fig = report.composition_bars(table)
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    titles = [ax.get_title() for ax in shown]
    # T_NK holds one top-level state (CD8_T), fibroblast one (CAF): only CD8_T gets a panel
    assert titles == ["Lineage composition per patient", "States among CD8_T (T_NK)"]
    ax = shown[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p2\nNR", "p1\nR"]
    assert ax.get_ylabel() == "fraction of CD8_T cells"
    # bars: effector/memory (NR, R) then exhausted stacked on them
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([2 / 8, 6 / 8, 6 / 8, 2 / 8])
    lineage = [p.get_height() for p in shown[0].patches]  # T_NK 8/12, fibroblast 4/12
    assert lineage == pytest.approx([8 / 12, 8 / 12, 4 / 12, 4 / 12])
    plt.close(fig)
