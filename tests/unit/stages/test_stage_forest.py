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
