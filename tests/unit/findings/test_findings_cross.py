"""Datasets side by side: the long table, its notes, the page and the heatmaps."""

import numpy as np
import pandas as pd
from findings_tables import TITLES, conditions_table, coverage_table, flags_table
from tmesig import findings
from tmesig.findings import flags_by_dataset


def _inputs():
    a = flags_table()
    b = flags_table()
    b = b[b["compartment"] != "fibroblast"].copy()  # B has no fibroblasts
    b["resistance_effect"] = -b["resistance_effect"]  # opposite direction everywhere
    b["flagged"] = False
    b.loc[b["set"] == "tcell_exhaustion", "flagged"] = True
    cov_b = coverage_table()
    cov_b.loc[cov_b["set"] == "tls_cabrita", ["scored", "n_found", "reason"]] = [
        False,
        1,
        "coverage 0.25 < min_coverage 0.50",
    ]
    b = b[b["set"] != "tls_cabrita"]  # not scored in B: no flags row
    flags = {"A": a, "B": b}
    conditions = {"A": conditions_table(), "B": pd.DataFrame({"note": ["none"]})}
    return flags, conditions, {"A": coverage_table(), "B": cov_b}


def test_table_side_by_side_with_notes():
    flags, conditions, coverage = _inputs()
    t = flags_by_dataset(flags, conditions=conditions, coverage=coverage)
    assert list(t.columns) == findings.CROSS_COLUMNS
    assert len(t) == 2 * 6 and list(t["dataset"][:2]) == ["A", "B"]  # union of pairs x datasets
    row = t.set_index(["dataset", "compartment", "set"])
    assert row.loc[("B", "fibroblast", "collagen_ecm_barrier"), "note"] == (
        "compartment not found in this dataset"
    )
    assert row.loc[("B", "B_plasma", "tls_cabrita"), "note"] == (
        "set not scored (coverage 0.25 < min_coverage 0.50)"
    )
    assert np.isnan(row.loc[("B", "B_plasma", "tls_cabrita"), "effect"])
    assert row.loc[("B", "B_plasma", "tls_cabrita"), "genes_found"] == "1/4"
    assert row.loc[("B", "B_plasma", "tls_cabrita"), "family"] == "primary"  # from A
    assert row.loc[("A", "myeloid", "m2_tam"), "effect"] == 1.8
    assert row.loc[("B", "myeloid", "m2_tam"), "effect"] == -1.8
    assert row.loc[("A", "myeloid", "m2_tam"), "coverage"] == 0.75
    assert bool(row.loc[("A", "myeloid", "m2_tam"), "flagged"])
    assert row.loc[("A", "myeloid", "m2_tam"), "condition_contrast"] == "NR vs R"
    assert row.loc[("A", "myeloid", "m2_tam"), "condition_effect"] == 0.4
    assert pd.isna(row.loc[("B", "myeloid", "m2_tam"), "condition_contrast"])
    assert t["flagged"].sum() == 2


def test_cross_page_links_agreement_and_coverage():
    flags, conditions, coverage = _inputs()
    t = flags_by_dataset(flags, conditions=conditions, coverage=coverage)
    blocks = findings.cross_page(t, titles=TITLES, heatmap=b"\x89PNG")
    md = findings.to_markdown(blocks)
    html = findings.to_html(blocks, title="x")
    assert "[summary.html](../A/summary.html)" in md and "[summary.html](../B/summary.html)" in md
    assert "`A`: 1 of 5 pre-specified tests flagged; conditions: NR vs R, 1 at FDR ≤ 0.05" in md
    assert "`B`: 1 of 4 pre-specified tests flagged; conditions: none compared" in md
    assert "2 compartment × set pair(s) flagged in at least one dataset" in md
    # primary pairs measured in both: m2_tam, tcell_exhaustion, b2m, vegf -> all flip sign
    assert "Of the 4 pre-specified pairs measured in every dataset, 0 point the same way" in md
    assert "| `tls_cabrita` | 75% | 25% |" in md
    assert "| +1.80 (FDR 0.01, flagged) | -1.80 (FDR 0.01) |" in md
    assert "[flags_by_dataset.tsv](flags_by_dataset.tsv)" in md
    assert "data:image/png;base64," in html and "https://" not in html


def test_heatmaps_have_the_right_shape():
    flags, conditions, coverage = _inputs()
    t = flags_by_dataset(flags, conditions=conditions, coverage=coverage)
    fig = findings.datasets_heatmap(t)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_xticklabels()] == ["A", "B"]
    assert len(ax.get_yticklabels()) == 6
    assert sum(x.get_text() == "*" for x in ax.texts) == 2  # the two flags
    assert "resistance" in fig.axes[1].get_ylabel()  # the colour bar is labelled
    patients = pd.DataFrame(
        {
            "patient": ["a", "b", "c", "a"],
            "condition": ["NA", "NA", "NA", "NA"],
            "compartment": ["myeloid", "myeloid", "myeloid", "T_NK"],
            "set": ["m2_tam"] * 3 + ["treg"],
            "n_cells": 20,
            "mean": 0.0,
            "z": [-1.0, 0.0, 1.0, np.nan],
        }
    )
    fig = findings.patients_heatmap(patients)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [x.get_text() for x in ax.get_xticklabels()] == ["T_NK:treg", "myeloid:m2_tam"]
    norm = ax.collections[0].norm
    assert norm.vcenter == 0 and norm.vmin == -norm.vmax  # centred diverging scale
    assert "z-score" in fig.axes[1].get_ylabel()
