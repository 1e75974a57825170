"""tmesig.figures.colors and .text: one colour map, plain-language pieces."""

import colorsys

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd
from tmesig.constants import LINEAGES, MALIGNANT, UNASSIGNED
from tmesig.figures import colors, note_figure, text
from tmesig.signatures import GeneSet

PARENTS = {
    "CD8_T": "T_NK",
    "CD4_T": "T_NK",
    "Treg": "T_NK",
    "NK": "T_NK",
    "macrophage": "myeloid",
    "cDC2": "myeloid",
    "CAF": "fibroblast",
}


def _hue(c: str) -> float:
    return colorsys.rgb_to_hls(*mcolors.to_rgb(c))[0]


def test_states_are_shades_of_their_lineage():
    shades = colors.state_colors(PARENTS)
    assert list(shades) == list(PARENTS)
    t_nk = [shades[s] for s in ("CD8_T", "CD4_T", "Treg", "NK")]
    assert len(set(t_nk)) == 4  # distinct shades
    for state, parent in PARENTS.items():
        diff = abs(_hue(shades[state]) - _hue(colors.PALETTE[parent]))
        assert min(diff, 1 - diff) <= 0.05, state  # same hue family (hue shift ≤ ±0.03 + rounding)
    assert shades["CAF"] == colors.PALETTE["fibroblast"]  # a lineage's only state: its colour


def test_special_states_and_unknown_parents():
    shades = colors.state_colors({UNASSIGNED: "T_NK", MALIGNANT: "epithelial", "x": "nowhere"})
    assert shades[UNASSIGNED] == colors.NEUTRAL == "#c7c7c7"
    assert shades[MALIGNANT] == colors.PALETTE[MALIGNANT]
    assert shades["x"] not in (colors.NEUTRAL,)


def test_colours_do_not_depend_on_which_states_a_dataset_holds():
    full = colors.compartment_colors(list(PARENTS) + list(LINEAGES), parents=PARENTS)
    few = colors.compartment_colors(["Treg", "myeloid", UNASSIGNED], parents=PARENTS)
    assert few["Treg"] == full["Treg"] and few["myeloid"] == full["myeloid"]
    assert few[UNASSIGNED] == "#c7c7c7"


def test_category_colors_sorted_naturally_and_grey_for_missing():
    got = colors.category_colors(["s10", "s2", "NA", "s1"])
    assert list(got) == sorted(got)  # a dict keyed by every label
    assert got["NA"] == colors.NEUTRAL
    assert len({got["s1"], got["s2"], got["s10"]}) == 3
    many = colors.category_colors([f"p{i}" for i in range(60)])
    assert len(set(many.values())) == 60  # more than 20 labels: the 102-colour palette


def test_natural_key_and_direction_and_coverage_text():
    assert sorted(["s10", "s2", "s1"], key=text.natural_key) == ["s1", "s2", "s10"]
    assert text.direction_text("down") == "low = resistance"
    assert text.direction_text("up") == "high = resistance"
    gs = GeneSet("a", "A", ("X", "Y", "Z"), "up", ("any",), "m", True, {})
    cov = pd.DataFrame({"set": ["a"], "n_found": [2], "n_genes": [3]})
    assert text.coverage_text(gs, cov) == "2/3 genes"
    assert text.coverage_text(gs, None) == "3 genes"
    assert text.score_label(pd.DataFrame({"method": ["method=rank;x=1"]})).startswith("rank")
    assert text.short_title("x" * 50, width=10) == "x" * 9 + "…"


def test_note_figure_is_framed_and_readable(tmp_path):
    fig = note_figure("nothing to draw here", title="Nothing")
    fig.savefig(tmp_path / "n.png", dpi=120, bbox_inches="tight")
    h, w = plt.imread(tmp_path / "n.png").shape[:2]
    assert w >= 1000 and h >= 250
    assert [t.get_text() for t in fig.axes[0].texts] == ["Nothing", "nothing to draw here"]
    plt.close(fig)
