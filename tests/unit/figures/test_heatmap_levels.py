"""The compartment x set heatmap at the lineage and at the cell-state level."""

import matplotlib.pyplot as plt
import pandas as pd
from tmesig import report
from tmesig.stages.figures import _heatmap_states


def _two_levels() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        ("lineage", "T_NK", "T_NK", 1.0),
        ("lineage", "myeloid", "myeloid", 0.0),
        ("state", "Treg", "T_NK", 0.5),
        ("state", "CD8_exhausted", "T_NK", 2.0),
        ("state", "macrophage", "myeloid", -1.0),
    ]
    comps = pd.DataFrame(rows, columns=["level", "compartment", "parent", "x"])
    comps.insert(3, "sample", "s1")
    comps.insert(4, "n_cells", 20)
    comps["y"] = comps["x"] * -1
    flags = pd.DataFrame(
        {
            "level": ["lineage", "state", "state"],
            "compartment": ["T_NK", "CD8_exhausted", "macrophage"],
            "parent": ["T_NK", "T_NK", "myeloid"],
            "set": ["x", "x", "y"],
            "p": [0.001, 0.001, 0.04],
            "flagged": [True, True, False],
        }
    )
    return comps, flags


def _marks(ax) -> set:
    return {(t.get_position(), t.get_text()) for t in ax.texts if t.get_text() in "*·"}


def test_lineage_level_rows_and_marks_only():
    comps, flags = _two_levels()
    fig = report.heatmap_compartment_sets(comps, flags, level="lineage")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T_NK", "myeloid"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]  # not level / parent
    assert _marks(ax) == {((0, 0), "*")}
    plt.close(fig)


def test_state_level_rows_grouped_by_lineage_with_their_marks():
    comps, flags = _two_levels()
    fig = report.heatmap_compartment_sets(comps, flags, level="state")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "CD8_exhausted (T_NK)",
        "Treg (T_NK)",
        "macrophage (myeloid)",
    ]
    assert _marks(ax) == {((0, 0), "*"), ((1, 2), "·")}
    assert ax.get_ylabel() == "cell state (its lineage)" and "cell state" in ax.get_title()
    z = ax.images[0].get_array()
    assert z[0, 0] > z[1, 0] > z[2, 0]  # 2.0 > 0.5 > -1.0, z-scored over the states only
    plt.close(fig)


def test_no_state_rows_gives_a_note():
    comps, flags = _two_levels()
    lineage = comps[comps.level == "lineage"]
    fig = _heatmap_states(lineage, flags, None, 0.05)
    assert not fig.axes[0].images
    assert any("no cell-state rows" in t.get_text() for t in fig.findobj(plt.Text))
    plt.close(fig)
