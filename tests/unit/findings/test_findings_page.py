"""The findings page from hand-made tables: facts, words, links, and safe self-contained HTML."""

import re

import numpy as np
import pandas as pd
from findings_tables import NO_CONDITION, conditions_table, dataset_tables, flags_table
from tmesig import findings
from tmesig.findings import FindingsOptions, collect_findings, findings_page, input_mode

OPTS = FindingsOptions()


def _page(tables, heatmap=b""):
    facts = collect_findings(tables, options=OPTS)
    blocks = findings_page(facts, heatmap=heatmap)
    return facts, findings.to_markdown(blocks), findings.to_html(blocks, title="t")


def test_input_mode():
    assert input_mode({"input_mode": "panel", "matrix": {"non_counts": False}}) == "panel"
    assert input_mode({"matrix": {"non_counts": False, "state": "counts"}}) == "counts"
    assert input_mode({"matrix": {"non_counts": True, "state": "log2_tpm"}}) == "normalised"


def test_flagged_rows_with_coverage_and_drivers():
    facts, md, html = _page(dataset_tables())
    assert list(facts.flagged["set"]) == ["m2_tam"]
    assert facts.n_primary == 5 and facts.n_primary_tested == 4
    row = facts.flagged.iloc[0]
    assert row["coverage"] == "3/4" and row["title"] == findings_tables_title("m2_tam")
    assert "1 of 5 pre-specified compartment × gene-set tests are flagged" in md
    line = next(x for x in md.splitlines() if "`m2_tam`" in x and x.startswith("| myeloid"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:] == ["high = resistance", "+1.80", "0.01", "3/4", "CD163 +0.120, MRC1 +0.080"]
    assert "Nothing is flagged" not in md
    # every table is linked, in Markdown and in HTML
    for name in ("flags.tsv", "coverage.tsv", "qc_summary.tsv", "ingest_summary.json"):
        assert f"[{name}]({name})" in md and f'<a href="{name}">{name}</a>' in html


def test_flagged_sorted_by_fdr_then_effect():
    rows = flags_table().copy()
    extra = rows.iloc[[0, 0]].copy()
    extra["set"] = ["treg", "mdsc"]
    extra["fdr"] = [0.001, 0.01]
    extra["resistance_effect"] = [0.9, 2.5]
    facts, _, _ = _page(dataset_tables(flags=pd.concat([rows, extra], ignore_index=True)))
    assert list(facts.flagged["set"]) == ["treg", "mdsc", "m2_tam"]


def test_nothing_flagged_lists_candidates_with_reasons():
    flags = flags_table()
    flags["flagged"] = False
    flags.loc[0, "fdr"] = 0.09
    facts, md, _ = _page(dataset_tables(flags=flags))
    assert "Nothing is flagged: none of the 5 pre-specified" in md
    assert list(facts.candidates["set"])[:2] == ["m2_tam", "tcell_exhaustion"]
    assert "| FDR 0.09 above alpha 0.05 |" in md
    assert "| no test: 2 sample(s), fewer than min_samples 3 |" in md


def test_conditions_absent_and_present():
    _, md, _ = _page(dataset_tables(conditions=NO_CONDITION))
    assert "No condition was compared" in md and "`condition_col`" in md
    facts, md, _ = _page(dataset_tables(conditions=conditions_table()))
    c = facts.conditions
    assert (c.compared, c.contrast, c.n_tests, c.n_tested, c.n_significant) == (
        True,
        "NR vs R",
        3,
        2,
        1,
    )
    assert list(c.top["set"]) == ["m2_tam", "tcell_exhaustion"]
    assert "| myeloid | `m2_tam` | unpaired | 4 / 5 | +0.4 (+0.1 to +0.7) | 0.01 | 0.02 |" in md


def test_what_could_not_be_measured():
    facts, md, _ = _page(dataset_tables(genes=frozenset({"NT5E", "ENTPD1", "B2M"})))
    items = dict(zip(facts.missing_card["set"], facts.missing_card["absent"], strict=True))
    assert items["cd274_pdl1"] == "CD274, PDCD1LG2"
    assert items["nt5e_adenosine"] == "ADORA2A"  # NT5E and ENTPD1 are there
    assert list(facts.unscored["set"]) == ["cd274_pdl1"]
    assert "Not scored: PD-L1" in md and "0/4 genes found: coverage 0.00" in md
    absent = {"B_plasma", "mast", "neutrophil", "fibroblast", "endothelial", "epithelial"}
    assert set(facts.lineages_absent) == absent
    assert "1 of 10 cells (10.0%) stay unassigned" in md
    assert "1 of 5 pre-specified tests have no p-value" in md


def test_qc_one_line_per_sample():
    facts, md, _ = _page(dataset_tables())
    assert list(facts.qc["removed"]) == ["low counts 3, doublets 2", "none"]
    assert "| s1 | 100 | 95 | low counts 3, doublets 2 |" in md
    assert facts.size == {
        "cells": 220,
        "genes": 500,
        "samples": 2,
        "patients": 2,
        "cells_kept": 215,
    }


def test_patients_fewer_than_three_and_enough():
    _, md, _ = _page(dataset_tables())
    assert "Only 0 patient(s)" in md and "not informative" in md
    patients = pd.DataFrame(
        {
            "patient": ["a", "b", "c"],
            "condition": "NA",
            "compartment": "myeloid",
            "set": "m2_tam",
            "n_cells": [20, 30, 40],
            "mean": [0.1, 0.2, 0.6],
            "z": [-0.8, -0.3, 1.1],
        }
    )
    facts, md, html = _page(dataset_tables(patients=patients), heatmap=b"\x89PNG")
    assert facts.n_patients == 3 and list(facts.deviations["patient"]) == ["c", "a", "b"]
    assert "| c | myeloid |" in md and "+1.10 |" in md
    assert "(1.15 here)" in md  # (3 - 1) / sqrt(3)
    assert "![per-patient z-scores" in md and "report/patients/patients_heatmap.png" in md
    assert 'src="data:image/png;base64,iVBORw==' in html  # embedded, not linked


def test_html_is_self_contained_and_escapes_hostile_names():
    hostile = '[x](javascript:alert(1))<script>alert("s")</script>'
    _, md, html = _page(dataset_tables(sample=hostile))
    assert "<script>" not in html
    assert all(not h.startswith(("http", "//", "javascript")) for h in _hrefs(html))
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "&lt;script&gt;" in html
    assert "\\[x\\](javascript:alert(1))" in md  # shown literally, not as a link


def _hrefs(html):
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def findings_tables_title(name):
    from findings_tables import TITLES

    return TITLES[name]


def test_missing_values_do_not_break_the_page():
    flags = flags_table()
    flags.loc[1, ["resistance_effect", "null_z"]] = np.nan
    flags["flagged"] = False
    _, md, _ = _page(dataset_tables(flags=flags))
    assert "no effect estimate" in md


def test_no_flags_rows_at_all():
    """A dataset where nothing could be scored or tested: the page still says so."""
    facts, md, _ = _page(dataset_tables(flags=flags_table().iloc[0:0]))
    assert facts.n_primary == 0 and facts.candidates.empty
    assert "Nothing is flagged: none of the 0 pre-specified" in md
    assert "there is no candidate" in md and "why not a flag" not in md


def test_condition_facts_name_states_with_their_lineage():
    t = conditions_table()
    t["level"], t["parent"] = "lineage", t["compartment"]
    state = t.iloc[[0]].assign(level="state", compartment="macrophage", parent="myeloid", p=0.001)
    facts = findings.condition_facts(pd.concat([t, state], ignore_index=True), pd.DataFrame(), n=5)
    assert facts.n_tests == 4 and facts.n_tested == 3
    assert list(facts.top["compartment"]) == ["macrophage (myeloid)", "myeloid", "T_NK"]


def test_state_level_flags_named_with_their_lineage():
    rows = flags_table().copy()
    rows["level"], rows["parent"] = "lineage", rows["compartment"]
    state = rows[rows["flagged"].astype(bool)].copy()
    state["level"], state["parent"], state["compartment"] = "state", "myeloid", "macrophage"
    state["fdr"] = state["fdr"] / 2
    facts, md, _ = _page(dataset_tables(flags=pd.concat([rows, state], ignore_index=True)))
    assert list(facts.flagged["compartment"]) == ["macrophage", "myeloid"]
    first = next(x for x in md.splitlines() if "`m2_tam`" in x)
    assert first.startswith("| macrophage (myeloid) |")
    assert any(x.startswith("| myeloid |") and "`m2_tam`" in x for x in md.splitlines())


def test_ingest_notes_are_stated_on_the_page():
    notes = [
        "the files were merged over the 480 genes measured in every file; 20 genes missing from "
        "at least one file were dropped (a gene not measured is not a zero), 3 of them in the "
        "signature library",
        *(f"note {i}" for i in range(7)),
    ]
    base = {"cells": 220, "genes": 480, "samples": 2, "patients": 2, "matrix": {}}
    facts, md, html = _page(dataset_tables(ingest={**base, "notes": notes}))
    assert facts.ingest_notes == tuple(notes)
    shown = [line for line in md.splitlines() if line.startswith("- At ingest: ")]
    assert len(shown) == 6 and "20 genes missing from at least one file were dropped" in shown[0]
    assert "note 4" in md and "note 5" not in md
    assert "2 more ingest notes in" in md and "2 more ingest notes in" in html
    _, md_none, _ = _page(dataset_tables(ingest=base))
    assert "At ingest" not in md_none
