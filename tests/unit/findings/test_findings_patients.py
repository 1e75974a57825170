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
