"""Tests for tmesig.margins (best-two picks and relative margins shared by all calls)."""

import numpy as np
from tmesig.margins import best_two, relative_margin


def test_best_two_hand_computed() -> None:
    values = np.array(
        [
            [0.2, 0.5, 0.1],  # plain
            [0.4, np.nan, 0.4],  # tie -> earlier column; NaN ignored
            [np.nan, 0.3, np.nan],  # one finite entry
            [np.nan, np.nan, np.nan],  # none
        ]
    )
    best_idx, best_val, second_idx, second_val = best_two(values)
    np.testing.assert_array_equal(best_idx, [1, 0, 1, -1])
    np.testing.assert_allclose(best_val, [0.5, 0.4, 0.3, 0.0])
    np.testing.assert_array_equal(second_idx, [0, 2, -1, -1])
    np.testing.assert_allclose(second_val, [0.2, 0.4, 0.0, 0.0])


def test_best_two_one_or_no_column() -> None:
    idx, val, idx2, val2 = best_two(np.array([[0.7], [np.nan]]))
    np.testing.assert_array_equal(idx, [0, -1])
    np.testing.assert_array_equal(idx2, [-1, -1])
    np.testing.assert_allclose(val, [0.7, 0.0])
    np.testing.assert_allclose(val2, [0.0, 0.0])
    idx, _, _, _ = best_two(np.zeros((2, 0)))
    np.testing.assert_array_equal(idx, [-1, -1])


def test_relative_margin() -> None:
    best = np.array([1.0, 0.5, 0.0, 0.4, 0.2])
    second = np.array([0.25, 0.5, 0.0, -0.1, 0.0])
    # (1 - 0.25) / 1; tie; best 0 -> 0; negative second counts as 0; only best positive
    np.testing.assert_allclose(relative_margin(best, second), [0.75, 0.0, 0.0, 1.0, 1.0])
