"""Ingest at scale: checks that read the matrix in slices give the whole-matrix answer."""

import importlib

import numpy as np
import scipy.sparse as sp
from tmesig.io.rows import RowStream, scan

ingest_module = importlib.import_module("tmesig.io.ingest_file")


def test_fraction_integer_in_slices_equals_the_whole_count():
    rng = np.random.default_rng(0)
    data = rng.poisson(3.0, size=1001).astype(np.float32)
    data[::7] += 0.5  # 143 non-integer values
    whole = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    assert whole == (1001 - 143) / 1001
    assert ingest_module._fraction_integer(data, chunk=10) == whole
    assert ingest_module._fraction_integer(data) == whole


def test_scan_of_a_stream_equals_the_whole_matrix_count():
    m = sp.random(53, 11, density=0.4, random_state=3, dtype=np.float64, format="csr")
    m.data = np.round(m.data * 10) / 2  # halves: some integers, some not
    m.data[5] = -2.0
    col_pos = np.zeros(11, dtype=bool)
    col_pos[m.indices[m.data > 0]] = True  # by hand
    whole, chunked = scan(m), scan(RowStream(m, 11, chunk=6))
    for s in (whole, chunked):
        assert s.n_values == m.nnz and s.minimum == -2.0
        assert s.n_integer == int(np.sum(m.data == np.round(m.data)))
        assert np.array_equal(s.positive, col_pos)
    assert ingest_module._fraction_integer(m.data) == chunked.n_integer / chunked.n_values
