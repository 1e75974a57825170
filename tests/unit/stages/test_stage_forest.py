"""Stage ``forest`` (tmesig.stages.forest): the forest plot of conditions.tsv."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tmesig import paths, report
from tmesig.stages import StageIO
from tmesig.stages import forest as stage

SETS = sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml"))


def _run(tmp_path, table, monkeypatch=None):
    table.to_csv(tmp_path / "conditions.tsv", sep="\t", index=False)
    io = StageIO(
        input={"conditions": str(tmp_path / "conditions.tsv"), "sets": SETS},
        output={"forest": str(tmp_path / "forest.png")},
    )
    return stage.run(io), plt.imread(tmp_path / "forest.png")


def test_forest_stage_labels_rows_with_set_titles(tmp_path, monkeypatch):
    table = pd.DataFrame(
        {
            "compartment": ["T_NK", "epithelial"],
            "set": ["tcell_exhaustion", "b2m_mhc1_apm"],
            "effect": [0.8, -0.3],
            "ci_low": [0.4, -0.6],
            "ci_high": [1.2, 0.0],
            "p": [0.001, np.nan],
            "significant": [True, False],
            "test": "NR",
            "reference": "R",
        }
    )
    seen = {}
    forest = report.forest_conditions

    def spy(t, **kw):
        fig = forest(t, **kw)
        seen["labels"] = [x.get_text() for x in fig.axes[0].get_yticklabels()]
        return fig

    monkeypatch.setattr(report, "forest_conditions", spy)
    line, png = _run(tmp_path, table)
    assert line == "forest plot of 1 tested rows"
    assert seen["labels"] == [
        "T_NK · Exhausted T cells (multiple inhibitory receptors) (high = resistance)"
    ]
    assert png.shape[1] >= 900


def test_forest_stage_note_when_nothing_was_tested(tmp_path):
    line, png = _run(tmp_path, pd.DataFrame({"note": ["no condition to compare"]}))
    assert line == "forest plot of 0 tested rows"
    h, w = png.shape[:2]
    assert w >= 900 and h >= 250  # a readable framed note, not a strip


def test_forest_stage_shows_lineages_and_states_in_two_panels(tmp_path, monkeypatch):
    table = pd.DataFrame(
        {
            "level": ["lineage", "state", "state", "state"],
            "compartment": ["T_NK", "CD8_exhausted", "malignant", "CAF"],
            "parent": ["T_NK", "T_NK", "epithelial", "fibroblast"],
            "set": ["tcell_exhaustion", "tcell_exhaustion", "b2m_mhc1_apm", "b2m_mhc1_apm"],
            "effect": [0.5, 0.9, -0.3, 0.1],
            "ci_low": [0.1, 0.4, -0.6, -0.2],
            "ci_high": [0.9, 1.4, 0.0, 0.4],
            "p": [0.01, 0.001, 0.04, np.nan],
            "significant": [True, True, False, False],
            "test": "NR",
            "reference": "R",
        }
    )
    seen = {}
    forest = report.forest_conditions

    def spy(t, **kw):
        fig = forest(t, **kw)
        seen["panels"] = [
            (ax.get_ylabel(), [x.get_text() for x in ax.get_yticklabels()]) for ax in fig.axes
        ]
        return fig

    monkeypatch.setattr(report, "forest_conditions", spy)
    line, _ = _run(tmp_path, table)
    assert line == "forest plot of 3 tested rows"
    exh = "Exhausted T cells (multiple inhibitory receptors) (high = resistance)"
    apm = "B2M and MHC class I antigen presentation (low = resistance)"
    # smallest p at the top of each panel (matplotlib lists ticks bottom-up); untested CAF absent
    assert seen["panels"] == [
        ("lineages", [f"T_NK · {exh}"]),
        (
            "cell states",
            [f"malignant (epithelial) · {apm}", f"CD8_exhausted (T_NK) · {exh}"],
        ),
    ]
