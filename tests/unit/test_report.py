"""The report figures (tmesig.report) on small tables: labelled, no empty panels, one palette."""

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from matplotlib.collections import PathCollection
from tmesig import report
from tmesig.constants import LINEAGES, MALIGNANT, UNASSIGNED
from tmesig.signatures import GeneSet


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hex(rgba) -> str:
    return mcolors.to_hex(rgba)


def _has_content(ax) -> bool:
    return bool(ax.collections or ax.images or ax.lines or ax.patches or ax.texts)


def _no_empty_axes(fig) -> None:
    for ax in fig.axes:
        assert ax.get_visible() and _has_content(ax), f"empty axes {ax.get_title()!r}"


def _gs(
    name, title, direction="up", genes=("A", "B"), compartments=("any",), card=True, category=""
):
    return GeneSet(
        name, title, tuple(genes), direction, tuple(compartments), "m", card, {}, category=category
    )


# ------------------------------------------------------------------ palette


def test_palette_keys_come_from_constants():
    assert tuple(report.PALETTE) == (*LINEAGES, MALIGNANT, UNASSIGNED)
    assert len(set(report.PALETTE.values())) == len(report.PALETTE)
    assert report.PALETTE[UNASSIGNED] == "#c7c7c7"


def test_compartment_colors_known_states_and_extra_labels():
    parents = {"CD8_T": "T_NK", "CD4_T": "T_NK", "macrophage": "myeloid"}
    colors = report.compartment_colors(
        ["myeloid", "T_NK", "myeloid", "zeta", "alpha", "CD8_T", UNASSIGNED], parents=parents
    )
    assert list(colors) == sorted(["myeloid", "T_NK", "zeta", "alpha", "CD8_T", UNASSIGNED])
    assert colors["T_NK"] == report.PALETTE["T_NK"] and colors[UNASSIGNED] == "#c7c7c7"
    # a subset is a shade of its lineage: same hue family, a different colour
    assert colors["CD8_T"] == report.state_colors(parents)["CD8_T"] != colors["T_NK"]
    # unknown labels: distinct, not grey, not a lineage colour
    assert colors["alpha"] != colors["zeta"]
    assert not {colors["alpha"], colors["zeta"]} & set(report.PALETTE.values())


# ------------------------------------------------------------------ UMAPs


def test_umap_categorical_labels_counts_and_palette():
    rng = np.random.default_rng(0)
    labels = np.array(["T_NK"] * 5 + ["malignant"] * 3 + [UNASSIGNED] * 2)
    fig = report.umap_categorical(rng.normal(size=(10, 2)), labels, title="TME compartment")
    (ax,) = fig.axes
    assert ax.get_title() == "TME compartment"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("UMAP1", "UMAP2")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["malignant (3)", "T_NK (5)", "unassigned (2)"]
    # unassigned drawn first (underneath), every label in its palette colour
    drawn = [UNASSIGNED, MALIGNANT, "T_NK"]
    for coll, lab in zip(ax.collections, drawn, strict=True):
        assert _hex(coll.get_facecolor()[0]) == report.PALETTE[lab]
        assert coll.get_offsets().shape[0] == int((labels == lab).sum())


def test_umap_categorical_draws_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = report.umap_categorical(np.zeros((2, 2)), ["a", "b"], title="t", ax=axes[1])
    assert out is fig
    assert len(axes[1].collections) == 2 and not axes[0].collections


def _coverage():
    return pd.DataFrame(
        {
            "set": ["pdl1", "apm", "lag3"],
            "n_genes": [2, 8, 2],
            "n_found": [0, 6, 1],
            "method": "method=mean_diff;ctrl_size=50",
        }
    )


def test_umap_scores_titles_direction_coverage_and_colour_bars():
    rng = np.random.default_rng(1)
    sets = [
        _gs("pdl1", "PD-L1 ligands"),
        _gs("apm", "Antigen presentation", direction="down", genes="ABCDEFGH"),
        _gs("lag3", "LAG-3 and FGL1"),
    ]
    scores = pd.DataFrame(rng.normal(size=(30, 2)), columns=["apm", "lag3"])
    fig = report.umap_scores(rng.normal(size=(30, 2)), scores, sets=sets, coverage=_coverage())
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "UMAP1"]
    assert [ax.get_title() for ax in panels] == [
        "Antigen presentation\nlow = resistance · 6/8 genes",
        "LAG-3 and FGL1\nhigh = resistance · 1/2 genes",
    ]
    bars = [ax for ax in fig.axes if ax not in panels]
    assert len(bars) == 2
    assert all(ax.get_ylabel() == "score (set genes − matched control genes)" for ax in bars)
    _no_empty_axes(fig)  # 2 panels in a 1 x 2 grid: nothing hidden, nothing empty
    assert "PD-L1 ligands (0/2 genes)" in fig._suptitle.get_text()
    assert all(ax.collections[0].get_offsets().shape[0] == 30 for ax in panels)


def test_umap_scores_drops_unused_grid_cells():
    rng = np.random.default_rng(2)
    sets = [_gs(f"s{i}", f"Set {i}") for i in range(5)]
    scores = pd.DataFrame(rng.normal(size=(10, 5)), columns=[gs.name for gs in sets])
    fig = report.umap_scores(rng.normal(size=(10, 2)), scores, sets=sets, ncols=4)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "UMAP1"]
    assert len(panels) == 5 and len(fig.axes) == 10  # 5 panels + 5 colour bars, 3 cells removed
    assert panels[0].get_title() == "Set 0\nhigh = resistance · 2 genes"  # no coverage table
    _no_empty_axes(fig)


def test_umap_scores_without_scored_sets_says_so():
    fig = report.umap_scores(np.zeros((3, 2)), pd.DataFrame({"x": [1, 2, 3]}), sets=[_gs("y", "Y")])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["no set could be scored"]


# ------------------------------------------------------------------ dotplot


def _log(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def _dot_axes(fig):
    return [ax for ax in fig.axes if ax.collections and ax.get_xticklabels()][0]


def test_dotplot_genes_scales_each_gene_to_its_own_range(planted):
    a = _log(planted)
    # G0 is high in group A (planted); G200 is a background gene ~10x lower overall
    fig = report.dotplot_genes(a, ["G0", "G200", "NOPE"], groupby="group")
    assert "absent from this dataset: NOPE" in [ax.get_title() for ax in fig.axes]
    main = _dot_axes(fig)
    assert [t.get_text() for t in main.get_xticklabels()] == ["G0", "G200"]
    assert [t.get_text() for t in main.get_yticklabels()] == ["A", "B", "C"]
    dots = main.collections[0]
    assert dots.get_offsets().shape[0] == 6  # 2 genes x 3 groups
    # independent expectation: per gene, the group with the highest mean gets the top colour
    cmap = plt.get_cmap("Reds")
    top, bottom = _hex(cmap(1.0)), _hex(cmap(0.0))
    means = pd.DataFrame(a[:, ["G0", "G200"]].X.toarray(), columns=["G0", "G200"])
    means = means.groupby(a.obs["group"].to_numpy()).mean()
    colours = {}
    for (x, y), c in zip(dots.get_offsets(), dots.get_facecolors(), strict=True):
        colours[(round(x - 0.5), round(y - 0.5))] = _hex(c)
    for j, gene in enumerate(["G0", "G200"]):
        hi, lo = means[gene].to_numpy().argmax(), means[gene].to_numpy().argmin()
        assert colours[(j, hi)] == top and colours[(j, lo)] == bottom, gene
    labels = [ax.get_title() for ax in fig.axes]
    assert any("scaled per gene" in t for t in labels)


def test_dotplot_genes_all_present_and_none_present(planted):
    fig = report.dotplot_genes(_log(planted), ["G1"], groupby="group")
    assert "all card genes present" in [ax.get_title() for ax in fig.axes]
    w, _ = fig.get_size_inches()
    assert w * 130 >= 900  # readable at report size
    empty = report.dotplot_genes(planted, ["NOPE"], groupby="group")
    assert [t.get_text() for t in empty.texts] == ["absent from this dataset: NOPE"]


# ------------------------------------------------------------------ heatmap


def _tables():
    comps = pd.DataFrame(
        {
            "compartment": ["T_NK", "T_NK", "myeloid", "myeloid", UNASSIGNED],
            "sample": ["s1", "s2", "s1", "s2", "s1"],
            "n_cells": [10, 12, 8, 9, 3],
            "set_a": [1.0, 1.2, 0.1, 0.2, 5.0],
            "set_b": [0.3, 0.3, 0.3, 0.3, 0.3],
            "set_c": [0.0, 0.1, 0.5, 0.6, 0.0],
        }
    )
    flags = pd.DataFrame(
        {
            "compartment": ["T_NK", "myeloid", "myeloid"],
            "set": ["set_a", "set_b", "set_c"],
            "p": [0.001, 0.2, 0.03],
            "flagged": [True, False, False],
        }
    )
    return comps, flags


def test_heatmap_rows_columns_and_marks_without_library():
    comps, flags = _tables()
    fig = report.heatmap_compartment_sets(comps, flags)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T_NK", "myeloid"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["set_a", "set_b", "set_c"]
    marks = {(t.get_position(), t.get_text()) for t in ax.texts if t.get_text() in "*·"}
    assert marks == {((0, 0), "*"), ((2, 1), "·")}  # flagged; p 0.03 not flagged; p 0.2 none
    z = ax.images[0].get_array()
    assert z[0, 0] > 0 > z[1, 0] and z[0, 1] == 0.0  # constant set -> 0, not NaN
    assert ax.get_ylabel() == "compartment"
    assert "flagged" in ax.get_xlabel() and "p ≤ 0.05" in ax.get_xlabel()
    assert fig.axes[1].get_ylabel() == "mean score, z-scored across rows"


def test_heatmap_groups_sets_by_mechanism_category_with_titles_and_direction():
    comps, flags = _tables()
    sets = [
        _gs("set_a", "Whole-tumour thing", category="immune_infiltration"),
        _gs("set_b", "Tumour antigen loss", direction="down", category="antigen_presentation_ifn"),
        _gs("set_c", "Macrophage program", category="suppressive_cells"),
    ]
    fig = report.heatmap_compartment_sets(comps, flags, sets=sets, alpha=0.01)
    ax = fig.axes[0]
    # group order follows constants.SET_CATEGORIES: antigen presentation, suppressive
    # cells, ..., immune infiltration (the sensitivity side) last
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Tumour antigen loss ↓", "Macrophage program ↑", "Whole-tumour thing ↑"]
    groups = [t.get_text().replace("\n", " ") for t in ax.texts if t.get_text() not in "*·"]
    assert groups == [
        "Antigen presentation and IFN-γ sensing",
        "Suppressive immune cells",
        "Immune infiltration (sensitivity)",
    ]
    assert len(ax.lines) == 2  # separators between the three groups
    marks = {(t.get_position(), t.get_text()) for t in ax.texts if t.get_text() in "*·"}
    assert marks == {((2, 0), "*")}  # alpha 0.01: p 0.03 is not marked
    assert report.mechanism_group(sets[2]) == "Suppressive immune cells"
    assert report.mechanism_group(_gs("x", "No category")) == "other"


def test_heatmap_any_row_column_and_no_flags():
    comps = pd.DataFrame(
        {"state": ["Treg", "Treg"], "sample": ["s1", "s2"], "n_cells": 4, "x": 1.0}
    )
    fig = report.heatmap_compartment_sets(comps, pd.DataFrame(), groupby="state")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Treg"]
    assert ax.get_ylabel() == "state"
    assert not [t for t in ax.texts if t.get_text() in "*·"]


# ------------------------------------------------------------------ QC


def _metrics(pct_mito: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 40
    reasons = np.array(["kept"] * n, dtype=object)
    reasons[[0, 5]] = "doublet"
    reasons[10] = "low_counts;low_genes"
    reasons[15] = "low_counts"
    return pd.DataFrame(
        {
            "sample": np.repeat(["s10", "s2"], n // 2),
            "total_counts": rng.integers(500, 5000, n).astype(float),
            "n_genes": rng.integers(200, 2000, n).astype(float),
            "pct_mito": rng.uniform(0, 20, n) if pct_mito else np.nan,
            "removed_reason": reasons,
            "kept": reasons == "kept",
        },
        index=[f"c{i}" for i in range(n)],
    )


def _summary():
    return pd.DataFrame(
        {
            "sample": ["s2", "s10"],
            "min_total_counts": [99.0, 199.0],
            "max_total_counts": [9999.0, 19999.0],
            "min_genes": [200.0, 200.0],
            "max_genes": [3000.0, 4000.0],
            "max_pct_mito": [12.0, 15.0],
        }
    )


def test_qc_violins_labels_thresholds_removed_cells_and_reasons():
    fig = report.qc_violins(_metrics(), summary=_summary())
    axes = fig.axes
    assert len(axes) == 4
    _no_empty_axes(fig)
    for ax in axes[:3]:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["s2", "s10"]  # natural order
        assert ax.get_xlabel() == "sample" and ax.get_ylabel()
        red = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert [c.get_offsets().shape[0] for c in red] == [0, 4]  # removed: none in s2, 4 in s10
        assert _hex(red[1].get_facecolor()[0]) == "#ff0000"
    # thresholds: s2 (x = 1) and s10 (x = 2), on log10(1 + x) for counts
    segs = [s for c in axes[0].collections if c.get_linestyle()[0][1] for s in c.get_segments()]
    ys = sorted(round(float(s[0][1]), 6) for s in segs)
    assert ys == sorted(round(float(np.log10(t + 1)), 6) for t in [99, 9999, 199, 19999])
    mito = [s for c in axes[2].collections if c.get_linestyle()[0][1] for s in c.get_segments()]
    assert sorted(float(s[0][1]) for s in mito) == [12.0, 15.0]
    # reasons: counted by hand (a cell with two reasons counts in both)
    bars = {
        t.get_text(): p.get_width()
        for t, p in zip(axes[3].get_yticklabels(), axes[3].patches, strict=True)
    }
    assert bars == {"doublet (scrublet)": 2, "too few genes": 1, "too few counts": 2}
    assert axes[3].get_title() == "Why 4 of 40 cells were removed"


def test_qc_violins_drop_the_mito_panel_without_mt_genes():
    fig = report.qc_violins(_metrics(pct_mito=False))
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes][:2] == ["counts per cell", "genes detected per cell"]
    assert "no MT- genes" in fig._suptitle.get_text()
    _no_empty_axes(fig)


def test_qc_violins_without_removed_cells_say_so():
    m = _metrics()
    m["kept"], m["removed_reason"] = True, "kept"
    fig = report.qc_violins(m)
    assert len(fig.axes) == 3 and "no cell was removed" in fig._suptitle.get_text()


# ------------------------------------------------------------------ conditions


def test_forest_conditions_rows_and_labels():
    table = pd.DataFrame(
        {
            "compartment": ["T_NK", "myeloid", "mast"],
            "set": ["a", "b", "c"],
            "effect": [0.5, -0.2, 0.1],
            "ci_low": [0.2, -0.5, -0.1],
            "ci_high": [0.8, 0.1, 0.3],
            "p": [0.01, 0.2, np.nan],
            "significant": [True, False, False],
            "test": "R",
            "reference": "NR",
        }
    )
    fig = report.forest_conditions(table, sets=[_gs("a", "Set A", direction="down")])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["myeloid · b", "T_NK · Set A (low = resistance)"]
    assert "R − NR" in ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == "Condition effects with patients as the unit"
    colors = [_hex(c) for c in ax.collections[-1].get_facecolor()]
    assert colors == ["#555555", "#d62728"]


def test_forest_conditions_without_tests_is_a_readable_note(tmp_path):
    fig = report.forest_conditions(pd.DataFrame({"p": [np.nan], "note": ["one condition only"]}))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "No condition comparison could be tested. one condition only" in texts
    fig.savefig(tmp_path / "f.png", dpi=120, bbox_inches="tight")
    w, h = plt.imread(tmp_path / "f.png").shape[1::-1]
    assert w >= 900 and h >= 250  # not a strip of text


def test_composition_bars_colours_and_labels():
    table = pd.DataFrame(
        {
            "condition": ["R", "R", "NR", "NR"],
            "patient": ["p1", "p1", "p2", "p2"],
            "compartment": ["T_NK", "myeloid", "T_NK", "myeloid"],
            "fraction": [0.7, 0.3, 0.4, 0.6],
        }
    )
    fig = report.composition_bars(table)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "fraction of assigned cells" and ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p2\nNR", "p1\nR"]
    legend = ax.get_legend()
    for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True):
        assert _hex(handle.get_facecolor()) == report.PALETTE[text.get_text()]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.4, 0.7, 0.6, 0.3])
