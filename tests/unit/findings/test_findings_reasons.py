"""Why a row is not a flag: each condition of the rule, and agreement with the rule itself."""

import numpy as np
import pandas as pd
import pytest
from findings_tables import flags_table
from tmesig.findings import FindingsOptions, not_flagged_reason, strongest_candidates
from tmesig.flag import calibrate_flags

OPTS = FindingsOptions(alpha=0.05, min_effect=0.5, min_samples=3)
BASE = {
    "applies": True,
    "n_samples": 4,
    "p": 0.001,
    "fdr": 0.01,
    "resistance_effect": 1.0,
    "null_z": 1.0,
    "note": "",
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, ""),
        ({"applies": False}, "exploratory: the set is not pre-specified for this compartment"),
        ({"fdr": 0.2}, "FDR 0.2 above alpha 0.05"),
        ({"fdr": 0.0612}, "FDR 0.061 above alpha 0.05"),
        ({"resistance_effect": 0.3}, "effect +0.30 SD below min_effect 0.5"),
        ({"resistance_effect": -1.25}, "effect -1.25 SD below min_effect 0.5"),
        ({"null_z": -0.2}, "not above expression-matched random sets (null_z -0.20 <= 0)"),
        ({"null_z": 0.0}, "not above expression-matched random sets (null_z +0.00 <= 0)"),
        ({"null_z": np.nan}, "not above expression-matched random sets (null_z missing <= 0)"),
        (
            {"p": np.nan, "fdr": np.nan, "n_samples": 2},
            "no test: 2 sample(s), fewer than min_samples 3",
        ),
        (
            {"p": np.nan, "fdr": np.nan, "note": "per-sample differences are identical: no test"},
            "no test: per-sample differences are identical: no test",
        ),
        (
            {"applies": False, "fdr": 0.3, "resistance_effect": 0.1},
            "exploratory: the set is not pre-specified for this compartment; FDR 0.3 above "
            "alpha 0.05; effect +0.10 SD below min_effect 0.5",
        ),
    ],
)
def test_each_condition_of_the_rule_is_named(change, expected):
    assert not_flagged_reason({**BASE, **change}, options=OPTS) == expected


def test_thresholds_are_inclusive_like_the_rule():
    row = {**BASE, "fdr": 0.05, "resistance_effect": 0.5}
    assert not_flagged_reason(row, options=OPTS) == ""


def test_reason_is_empty_exactly_for_the_rows_calibrate_flags_flags():
    """Random rows through tmesig.flag.calibrate_flags (the reference): reason == '' <=> flagged."""
    rng = np.random.default_rng(3)
    n = 300
    flags = pd.DataFrame(
        {
            "compartment": [f"c{i % 7}" for i in range(n)],
            "set": [f"s{i}" for i in range(n)],
            "direction": "up",
            "applies": rng.random(n) < 0.7,
            "n_samples": rng.integers(1, 6, n),
            "n_cells": 50,
            "mean_in": 0.0,
            "mean_out": 0.0,
            "effect": 0.0,
            "effect_sd": 0.0,
            "resistance_effect": rng.normal(0.6, 0.5, n),
            "p": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) ** 10),
            "note": "",
        }
    )
    flags["family"] = np.where(flags["applies"], "primary", "exploratory")
    calibration = pd.DataFrame(
        {
            "compartment": flags["compartment"],
            "set": flags["set"],
            "null_z": rng.normal(0.5, 1.0, n),
            "p_null": rng.random(n) ** 10,
            "n_null": 100,
        }
    )
    out = calibrate_flags(flags, calibration, alpha=0.05, min_effect=0.5)
    assert 5 < out["flagged"].sum() < n - 5  # both kinds present
    reasons = [not_flagged_reason(r, options=OPTS) for r in out.to_dict("records")]
    assert [r == "" for r in reasons] == list(out["flagged"])


def test_strongest_candidates_order_and_reasons():
    flags = flags_table()
    got = strongest_candidates(flags, options=FindingsOptions(n_candidates=4))
    # unflagged primary tested rows by p: tcell_exhaustion 0.004, b2m 0.02, vegf 0.03;
    # then the untested primary row; the exploratory row (smallest p of all) comes after
    assert list(got["set"]) == [
        "tcell_exhaustion",
        "b2m_mhc1_apm",
        "vegf_angiogenesis",
        "tls_cabrita",
    ]
    assert list(got["reason"]) == [
        "FDR 0.2 above alpha 0.05",
        "effect +0.30 SD below min_effect 0.5",
        "not above expression-matched random sets (null_z -0.20 <= 0)",
        "no test: 2 sample(s), fewer than min_samples 3",
    ]
    assert "m2_tam" not in set(strongest_candidates(flags, options=OPTS)["set"])  # flagged
