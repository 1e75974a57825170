"""tmesig.tables rendering: one self-contained page, data escaped, rows capped, columns defined."""

import json
import re

import numpy as np
import pandas as pd
from tmesig import tables
from tmesig.tables import SPECS, render_page, render_table, round_significant


def _flags(n=5):
    return pd.DataFrame(
        {
            "compartment": ["myeloid"] * n,
            "set": [f"s{i}" for i in range(n)],
            "fdr": np.linspace(0.5, 0.01, n),
            "p": np.linspace(0.1, 0.001, n),
            "resistance_effect": np.arange(n, dtype=float),
            "null_z": 1.23456789,
            "top_genes": "CD163:+0.108,<b>x</b>",
        }
    )


def _rows(page):
    """The rows the page hands to DataTables (itables' ``data_json``)."""
    m = re.search(r'"data_json": ("(?:[^"\\]|\\.)*")', page)
    return json.loads(json.loads(m.group(1)))


def test_page_is_self_contained_and_defines_columns():
    page = render_table(_flags(), SPECS["flags"], source="results/x/flags.tsv")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src=|import\(|<link[^>]*href=)["']?https?://""", page)  # offline
    assert "dt_bundle" not in page and len(page) > 500_000  # the DataTables code is inside
    assert "5 rows. File: results/x/flags.tsv" in page
    for col in _flags().columns:
        assert f"<dt>{col}</dt>" in page
    assert "GENE:contribution" in page
    assert "<b>x</b>" not in page  # data is escaped, never HTML


def test_rows_sorted_by_evidence_and_capped():
    page = render_table(_flags(12), SPECS["flags"], max_rows=4)
    assert "Showing the first 4 of 12 rows" in page
    assert [r[1] for r in _rows(page)] == ["s11", "s10", "s9", "s8"]  # lowest FDR first
    assert ">s0<" not in page  # capped rows are not in the page


def test_round_significant_keeps_numbers():
    t = pd.DataFrame({"a": [1.23456, -0.000123456, 0.0, np.nan, 98765.4], "b": ["x"] * 5})
    out = round_significant(t)
    expected = [1.23, -0.000123, 0.0, np.nan, 98800.0]
    np.testing.assert_allclose(out["a"], expected, equal_nan=True)
    assert out["b"].tolist() == t["b"].tolist()


def test_patterned_columns_are_grouped():
    t = pd.DataFrame({"compartment": ["x"], "sample": ["1"], "n_cells": [3]})
    for i in range(9):
        t[f"set{i}"] = 0.5
    page = render_page(t, name="compartments", title="T")
    assert "set0, set1, set2, set3, set4, set5, ... (9 columns)" in page
    assert page.count("mean score of that gene set") == 1


def test_read_table_keeps_a_condition_named_na(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("patient\tcondition\tfraction\n1\tNA\t0.5\n2\t\t\n")
    t = tables.read_table(path, usecols=("condition", "fraction", "absent"))
    assert t.columns.tolist() == ["condition", "fraction"]
    assert t["condition"].tolist()[0] == "NA" and pd.isna(t["condition"].tolist()[1])
    assert t["fraction"].dtype == float


def test_pages_are_identical_across_runs():
    a = render_table(_flags(), SPECS["flags"])
    b = render_table(_flags(), SPECS["flags"])
    assert a == b
