"""tmesig.tables: rows sorted by evidence; per-cell tables summarised as counts."""

import numpy as np
import pandas as pd
from tmesig.tables import compartment_counts, sort_by_evidence, subset_counts


def test_sort_by_evidence_fdr_then_p_then_effect_untested_last():
    t = pd.DataFrame(
        {
            "set": ["a", "b", "c", "d", "e", "f"],
            "fdr": [0.2, np.nan, 0.01, 0.2, 0.2, 0.01],
            "p": [0.05, np.nan, 0.001, 0.05, 0.01, 0.002],
            "effect": [1.0, 9.0, 0.1, 2.0, -5.0, 0.5],
        }
    )
    out = sort_by_evidence(t, effect="effect")
    # by hand: fdr 0.01 (p .001 c, p .002 f), fdr 0.2 (p .01 e; p .05: effect 2 d, 1 a), untested b
    assert out["set"].tolist() == ["c", "f", "e", "d", "a", "b"]
    assert out.loc["b" == out["set"]].index.tolist() == [1]  # rows keep their index and content
    pd.testing.assert_frame_equal(out.sort_index(), t)
    by_abs = sort_by_evidence(t.drop(columns="p"), effect="effect", absolute=True)
    assert by_abs["set"].tolist() == ["f", "c", "e", "d", "a", "b"]  # |effect| within FDR


def test_sort_ties_and_missing_columns():
    t = pd.DataFrame({"set": ["z", "a", "m"], "fdr": [0.1, 0.1, 0.1]})
    assert sort_by_evidence(t, ties=("set",))["set"].tolist() == ["a", "m", "z"]
    plain = pd.DataFrame({"x": [3, 1, 2]})
    assert sort_by_evidence(plain, effect="effect") is plain


def test_compartment_counts_by_hand():
    ann = pd.DataFrame(
        {
            "cluster": [0, 0, 1, 2, 2, 2],
            "compartment": ["myeloid", "myeloid", "T_NK", "myeloid", "myeloid", "myeloid"],
            "confidence": [0.9, 0.9, 0.5, 0.7, 0.7, 0.7],
            "cell_compartment": ["myeloid", "T_NK", "T_NK", "myeloid", "myeloid", "B_plasma"],
        }
    )
    out = compartment_counts(ann).set_index("compartment")
    assert out.index.tolist() == ["myeloid", "T_NK"]  # largest first
    assert out.loc["myeloid", "n_cells"] == 5 and out.loc["myeloid", "n_clusters"] == 2
    assert np.isclose(out.loc["myeloid", "percent"], 100 * 5 / 6)
    assert np.isclose(out.loc["myeloid", "median_confidence"], 0.7)
    assert out.loc["myeloid", "cells_own_call_differs"] == 2
    assert out.loc["T_NK", "cells_own_call_differs"] == 0


def test_subset_counts_by_hand():
    s = pd.DataFrame(
        {
            "lineage": ["T_NK"] * 4 + ["epithelial"] * 2,
            "final_subset": ["CD8_T", "CD8_T", "CD8_T", "NK", "malignant", "malignant"],
            "subset_confidence": [0.8, 0.6, 0.4, 0.9, 0.1, 0.2],
            "cell_subset": ["CD8_T", "CD4_T", "CD8_T", "NK", "unassigned", "unassigned"],
        }
    )
    out = subset_counts(s).set_index(["lineage", "final_subset"])
    cd8 = out.loc[("T_NK", "CD8_T")]
    assert cd8["n_cells"] == 3 and np.isclose(cd8["percent_of_lineage"], 75.0)
    assert np.isclose(cd8["median_confidence"], 0.6) and cd8["cells_own_call_agrees"] == 2
    mal = out.loc[("epithelial", "malignant")]
    assert mal["n_cells"] == 2 and np.isclose(mal["percent_of_lineage"], 100.0)
    assert np.isnan(mal["median_confidence"]) and np.isnan(mal["cells_own_call_agrees"])
    assert list(out.index.get_level_values(0)) == ["T_NK", "T_NK", "epithelial"]
