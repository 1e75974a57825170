"""The report figures (tmesig.report) on small tables: labelled, no empty panels, palette."""

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from tmesig import report
from tmesig.constants import LINEAGES, MALIGNANT, UNASSIGNED


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hex(rgba) -> str:
    return mcolors.to_hex(rgba)


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison]


def _has_content(ax) -> bool:
    return bool(ax.collections or ax.images or ax.lines or ax.patches or ax.texts)


# ------------------------------------------------------------------ palette


def test_palette_keys_come_from_constants():
    assert tuple(report.PALETTE) == (*LINEAGES, MALIGNANT, UNASSIGNED)
    assert len(set(report.PALETTE.values())) == len(report.PALETTE)


def test_compartment_colors_known_and_extra_labels():
    colors = report.compartment_colors(["myeloid", "T_NK", "myeloid", "zeta", "alpha"])
    assert list(colors) == ["T_NK", "alpha", "myeloid", "zeta"]
    assert colors["T_NK"] == report.PALETTE["T_NK"]
    assert colors["myeloid"] == report.PALETTE["myeloid"]
    tab20 = [mcolors.to_hex(c) for c in plt.get_cmap("tab20").colors]
    assert colors["alpha"] == tab20[0] and colors["zeta"] == tab20[1]


# ------------------------------------------------------------------ UMAPs


def test_umap_categorical_labels_counts_and_palette():
    rng = np.random.default_rng(0)
    labels = np.array(["T_NK"] * 5 + ["malignant"] * 3 + [UNASSIGNED] * 2)
    fig = report.umap_categorical(rng.normal(size=(10, 2)), labels, title="TME compartment")
    (ax,) = fig.axes
    assert ax.get_title() == "TME compartment"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("UMAP1", "UMAP2")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["T_NK (5)", "malignant (3)", "unassigned (2)"]
    for coll, lab in zip(ax.collections, ["T_NK", "malignant", UNASSIGNED], strict=True):
        assert _hex(coll.get_facecolor()[0]) == report.PALETTE[lab]


def test_umap_categorical_draws_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = report.umap_categorical(np.zeros((2, 2)), ["a", "b"], title="t", ax=axes[1])
    assert out is fig
    assert len(axes[1].collections) == 2 and not axes[0].collections


def test_umap_scores_one_panel_per_present_set():
    rng = np.random.default_rng(1)
    scores = pd.DataFrame(rng.normal(size=(30, 2)), columns=["cd274_pdl1", "lag3_fgl1"])
    fig = report.umap_scores(
        rng.normal(size=(30, 2)), scores, sets=["cd274_pdl1", "absent", "lag3_fgl1"], ncols=3
    )
    panels = [ax for ax in _visible(fig) if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["cd274_pdl1", "lag3_fgl1"]
    assert all(_has_content(ax) for ax in panels)
    # the third panel is switched off, not left empty
    hidden = [ax for ax in fig.axes if not ax.axison]
    assert len(hidden) == 1


def test_umap_scores_without_sets_says_so():
    fig = report.umap_scores(np.zeros((3, 2)), pd.DataFrame({"x": [1, 2, 3]}), sets=["y"])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["no scored set to show"]


# ------------------------------------------------------------------ dotplot


def test_dotplot_genes_names_absent_genes(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    fig = report.dotplot_genes(a, ["G0", "G20", "NOPE"], groupby="group")
    titles = [ax.get_title() for ax in fig.axes]
    assert "absent from this dataset: NOPE" in titles
    main = [ax for ax in fig.axes if ax.collections and ax.get_xticklabels()][0]
    assert [t.get_text() for t in main.get_xticklabels()] == ["G0", "G20"]
    assert [t.get_text() for t in main.get_yticklabels()] == ["A", "B", "C"]
    assert main.collections[0].get_offsets().shape[0] == 6  # 2 genes x 3 groups


def test_dotplot_genes_all_present_and_none_present(planted):
    fig = report.dotplot_genes(planted, ["G1"], groupby="group")
    assert "all card genes present" in [ax.get_title() for ax in fig.axes]
    empty = report.dotplot_genes(planted, ["NOPE"], groupby="group")
    assert [t.get_text() for t in empty.texts] == ["absent from this dataset: NOPE"]


# ------------------------------------------------------------------ heatmap


def test_heatmap_compartment_sets_stars_flagged_cells():
    comps = pd.DataFrame(
        {
            "compartment": ["T_NK", "T_NK", "myeloid", "myeloid", UNASSIGNED],
            "sample": ["s1", "s2", "s1", "s2", "s1"],
            "n_cells": [10, 12, 8, 9, 3],
            "set_a": [1.0, 1.2, 0.1, 0.2, 5.0],
            "set_b": [0.3, 0.3, 0.3, 0.3, 0.3],
        }
    )
    flags = pd.DataFrame(
        {"compartment": ["T_NK", "myeloid"], "set": ["set_a", "set_b"], "flagged": [True, False]}
    )
    fig = report.heatmap_compartment_sets(comps, flags)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T_NK", "myeloid"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["set_a", "set_b"]
    stars = [t for t in ax.texts if t.get_text() == "*"]
    assert [(t.get_position()) for t in stars] == [(0, 0)]
    z = ax.images[0].get_array()
    assert z[0, 0] > 0 > z[1, 0] and z[0, 1] == 0.0  # constant set -> 0, not NaN
    assert "flagged" in ax.get_title()


def test_heatmap_without_flags():
    comps = pd.DataFrame({"compartment": ["mast"], "sample": ["s1"], "n_cells": [4], "x": [1.0]})
    fig = report.heatmap_compartment_sets(comps, pd.DataFrame())
    assert not [t for t in fig.axes[0].texts if t.get_text() == "*"]


# ------------------------------------------------------------------ QC


def _metrics(pct_mito: float | None = 5.0) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 40
    return pd.DataFrame(
        {
            "sample": np.repeat(["s1", "s2"], n // 2),
            "total_counts": rng.integers(500, 5000, n).astype(float),
            "n_genes": rng.integers(200, 2000, n).astype(float),
            "pct_mito": rng.uniform(0, 20, n) if pct_mito is not None else np.nan,
            "kept": np.arange(n) % 5 != 0,
        },
        index=[f"c{i}" for i in range(n)],
    )


def test_qc_violins_three_labelled_panels_with_removed_cells_in_red():
    fig = report.qc_violins(_metrics())
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["log10 total_counts", "log10 n_genes", "pct_mito"]
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["s1", "s2"]
        red = [c for c in ax.collections if c.get_offsets().shape[0] == 4]
        assert red and all(_hex(c.get_facecolor()[0]) == "#ff0000" for c in red)
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["removed"]


def test_qc_violins_notes_missing_mito():
    fig = report.qc_violins(_metrics(pct_mito=None))
    note = [t.get_text() for t in fig.axes[2].texts]
    assert note == ["pct_mito: not available\n(no MT- genes in the matrix)"]
    assert all(_has_content(ax) for ax in fig.axes)


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
    fig = report.forest_conditions(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["myeloid · b", "T_NK · a"]
    assert "R − NR" in ax.get_xlabel()
    assert ax.get_title() == "Condition effects with patients as the unit"
    colors = [_hex(c) for c in ax.collections[-1].get_facecolor()]
    assert colors == ["#555555", "#d62728"]


def test_forest_conditions_without_tests_shows_note():
    fig = report.forest_conditions(pd.DataFrame({"p": [np.nan], "note": ["one condition only"]}))
    assert [t.get_text() for t in fig.texts] == ["no condition comparison: one condition only"]


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
    assert ax.get_ylabel() == "fraction of assigned cells"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p2\nNR", "p1\nR"]
    legend = ax.get_legend()
    for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True):
        assert _hex(handle.get_facecolor()) == report.PALETTE[text.get_text()]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([0.4, 0.7, 0.6, 0.3])
