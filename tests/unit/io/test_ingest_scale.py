"""Ingest at scale: checks that read the matrix in slices give the whole-matrix answer."""

import importlib

import numpy as np

ingest_module = importlib.import_module("tmesig.io.ingest")


def test_fraction_integer_in_slices_equals_the_whole_count():
    rng = np.random.default_rng(0)
    data = rng.poisson(3.0, size=1001).astype(np.float32)
    data[::7] += 0.5  # 143 non-integer values
    whole = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    assert whole == (1001 - 143) / 1001
    assert ingest_module._fraction_integer(data, chunk=10) == whole
    assert ingest_module._fraction_integer(data) == whole
