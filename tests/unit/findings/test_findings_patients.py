"""Per-patient z-scores against a hand computation."""

import numpy as np
import pandas as pd
import pytest
from tmesig.findings import PATIENT_COLUMNS, patient_scores, top_deviations


def _cells():
    """Patients p1..p5 in compartment A with per-patient means 1, 2, 3, 6 and (p5, 2 cells) 9."""
    rows = []
    for patient, value, n in [("p1", 1.0, 10), ("p2", 2.0, 12), ("p3", 3.0, 10), ("p4", 6.0, 11)]:
        # two values around the mean so that the cell-level spread does not matter
        rows += [(patient, "A", value - 0.5)] * (n // 2) + [(patient, "A", value + 0.5)] * (
            n - n // 2
        )
    rows += [("p5", "A", 9.0)] * 2
    rows += [("p1", "unassigned", 100.0)] * 20
    df = pd.DataFrame(rows, columns=["patient", "compartment", "s"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def test_z_matches_a_hand_computation():
    df = _cells()
    out = patient_scores(
        df[["s"]], compartment=df["compartment"], patient=df["patient"], min_cells=10
    )
    assert list(out.columns) == PATIENT_COLUMNS
    assert set(out["compartment"]) == {"A"}  # unassigned cells are left out
    out = out.set_index("patient")
    # means of the odd-sized groups: p2 12 cells (6 low, 6 high) -> 2.0; p4 11 (5 low, 6 high)
    assert out.loc["p4", "mean"] == pytest.approx((5 * 5.5 + 6 * 6.5) / 11)
    means = {"p1": 1.0, "p2": 2.0, "p3": 3.0, "p4": (5 * 5.5 + 6 * 6.5) / 11}
    m = sum(means.values()) / 4
    sd = (sum((v - m) ** 2 for v in means.values()) / 3) ** 0.5
    for p, v in means.items():
        assert out.loc[p, "z"] == pytest.approx((v - m) / sd)
        assert out.loc[p, "n_cells"] >= 10
    # p5 has 2 cells (< min_cells): its mean is shown, no z, and it is not in the cohort
    assert out.loc["p5", "mean"] == 9.0 and np.isnan(out.loc["p5", "z"])
    assert out.loc["p5", "n_cells"] == 2


def test_fewer_than_min_patients_gives_no_z():
    df = _cells()
    out = patient_scores(
        df[["s"]], compartment=df["compartment"], patient=df["patient"], min_cells=11
    )
    # only p2 (12) and p4 (11) have >= 11 cells: two patients, no z for anyone
    assert out["z"].isna().all() and len(out) == 5


def test_conditions_split_a_patient_and_top_deviations():
    df = _cells()
    cond = pd.Series("pre", index=df.index)
    cond[df["patient"] == "p4"] = "post"
    df2 = df[df["patient"] == "p4"].copy()
    df2.index = [f"d{i}" for i in range(len(df2))]
    df2["s"] += 10
    both = pd.concat([df, df2])
    cond = pd.concat([cond, pd.Series("pre", index=df2.index)])
    out = patient_scores(
        both[["s"]],
        compartment=both["compartment"],
        patient=both["patient"],
        condition=cond,
        min_cells=10,
    )
    p4 = out[out["patient"] == "p4"].set_index("condition")
    assert set(p4.index) == {"pre", "post"}
    assert p4.loc["pre", "mean"] == pytest.approx(p4.loc["post", "mean"] + 10)
    top = top_deviations(out, n=2)
    assert len(top) == 2 and top["z"].abs().iloc[0] >= top["z"].abs().iloc[1]
    assert top["z"].abs().iloc[0] == pytest.approx(out["z"].abs().max())
    keep = pd.DataFrame({"compartment": ["B"], "set": ["s"]})
    assert top_deviations(out, pairs=keep).empty


def _state_cells():
    """Three patients, T_NK cells: CD8_exhausted (score = patient value), Treg (value + 10),
    unassigned state (100, left out of the state level)."""
    rows = []
    for patient, value in [("p1", 1.0), ("p2", 2.0), ("p3", 6.0)]:
        rows += [(patient, "T_NK", "CD8_exhausted", value)] * 10
        rows += [(patient, "T_NK", "Treg", value + 10)] * 10
        rows += [(patient, "T_NK", "unassigned", 100.0)] * 5
    df = pd.DataFrame(rows, columns=["patient", "compartment", "state", "s"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def test_state_rows_match_a_hand_computation():
    df = _state_cells()
    kw = {"compartment": df["compartment"], "patient": df["patient"], "min_cells": 10}
    out = patient_scores(df[["s"]], state=df["state"], parent=df["compartment"], **kw)
    assert list(out.columns) == PATIENT_COLUMNS
    lineage = out[out["level"] == "lineage"]
    states = out[out["level"] == "state"]
    # lineage rows are those of a call without states (unassigned states included there)
    alone = patient_scores(df[["s"]], **kw)
    pd.testing.assert_frame_equal(lineage.reset_index(drop=True), alone)
    assert (lineage["parent"] == "T_NK").all()
    assert lineage.set_index("patient").loc["p1", "mean"] == pytest.approx(
        (10 * 1 + 10 * 11 + 5 * 100) / 25
    )
    assert set(states["compartment"]) == {"CD8_exhausted", "Treg"}
    assert (states["parent"] == "T_NK").all() and (states["n_cells"] == 10).all()
    exh = states[states["compartment"] == "CD8_exhausted"].set_index("patient")
    treg = states[states["compartment"] == "Treg"].set_index("patient")
    assert exh["mean"].to_dict() == {"p1": 1.0, "p2": 2.0, "p3": 6.0}
    m, sd = 3.0, ((4 + 1 + 9) / 2) ** 0.5
    for p, v in {"p1": 1.0, "p2": 2.0, "p3": 6.0}.items():
        assert exh.loc[p, "z"] == pytest.approx((v - m) / sd)
        assert treg.loc[p, "z"] == pytest.approx((v - m) / sd)  # z within each state
    # lineage rows first
    assert list(out["level"]) == ["lineage"] * 3 + ["state"] * 6


def test_state_parent_defaults_to_the_lineage_and_pairs_match_on_level():
    df = _state_cells()
    out = patient_scores(
        df[["s"]], compartment=df["compartment"], patient=df["patient"], state=df["state"]
    )
    assert (out["parent"] == "T_NK").all()
    pairs = pd.DataFrame({"level": ["state"], "compartment": ["Treg"], "set": ["s"]})
    top = top_deviations(out, pairs=pairs, n=5)
    assert set(top["compartment"]) == {"Treg"} and len(top) == 3


def test_patients_heatmap_shows_state_columns_after_lineage_columns():
    from tmesig.findings import patients_heatmap

    df = _state_cells()
    out = patient_scores(
        df[["s"]], compartment=df["compartment"], patient=df["patient"], state=df["state"]
    )
    fig = patients_heatmap(out)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["T_NK:s", "T_NK/CD8_exhausted:s", "T_NK/Treg:s"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["p1", "p2", "p3"]
