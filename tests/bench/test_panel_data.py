"""bench_panel's imaging artefacts: segmentation spill-over and detection thinning."""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _panel_data import spill, thin


def test_spill_adds_a_share_of_another_cells_transcripts():
    rng = np.random.default_rng(0)
    x = sp.csr_matrix(rng.poisson(20.0, size=(400, 30)).astype(np.float32))
    out = spill(x, fraction=0.2, seed=1)
    extra = (out - x).toarray()
    assert extra.min() >= 0  # a cell keeps its own transcripts
    # about 20 % of one other cell's transcripts each (binomial thinning of that cell)
    assert extra.sum() / x.sum() == pytest.approx(0.2, abs=0.01)
    one_hot = np.eye(400, dtype=np.float32)
    own = spill(sp.csr_matrix(one_hot * 1000), fraction=0.5, seed=1).toarray()
    donors = np.argmax(own - np.diag(np.diag(own)), axis=1)
    assert (donors != np.arange(400)).all()  # never the cell itself
    np.testing.assert_array_equal(spill(x, fraction=0.2, seed=1).toarray(), out.toarray())


def test_thin_reaches_the_median_depth():
    rng = np.random.default_rng(2)
    x = sp.csr_matrix(rng.poisson(3.0, size=(300, 200)).astype(np.float32))
    out = thin(x, median_genes=40, seed=0)
    assert abs(np.median(np.diff(out.indptr)) - 40) <= 1
    assert (out.toarray() <= x.toarray()).all()
