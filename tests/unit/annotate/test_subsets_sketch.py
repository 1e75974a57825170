"""Sub-clustering of large lineages on a sketch (tmesig.subsets._sketch)."""

from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from sklearn.metrics import adjusted_rand_score
from tmesig.io import backed_rows
from tmesig.io.expression import read_expression
from tmesig.simulate import simulate
from tmesig.subsets import SubsetOptions, annotate_subsets
from tmesig.subsets._pca import lineage_pca
from tmesig.subsets._sketch import _project, sketch_rows


def test_sketch_rows_hand_counts() -> None:
    # strata of 1,000 and 50 cells, 400 kept: the small one keeps all 50 (floor 200), the
    # large one its floor of 200 plus the 150 left
    strata = np.array(["a"] * 1000 + ["b"] * 50)
    rows = sketch_rows(strata, 400, seed=0)
    assert rows.size == 400 and (np.diff(rows) > 0).all()
    assert int((strata[rows] == "b").sum()) == 50
    assert (sketch_rows(strata, 400, seed=0) == rows).all()
    assert (sketch_rows(strata, 2000, seed=0) == np.arange(1050)).all()
    assert sketch_rows(None, 10, seed=1).size == 0


@pytest.fixture(scope="module")
def tnk():
    """The simulated T/NK compartment (CD8, CD4, Treg, NK; truth in ``cell_type``)."""
    adata = simulate(3000, lognorm=True, n_genes=2000, seed=0)
    del adata.layers["counts"]
    sc.pp.pca(adata, n_comps=15, random_state=0)
    sc.pp.neighbors(adata, random_state=0)
    sc.tl.leiden(adata, flavor="igraph", n_iterations=2, random_state=0)
    return adata


def test_projection_reproduces_the_sketch_pca(tnk) -> None:
    rows = sketch_rows(tnk.obs["leiden"].to_numpy(), 500, seed=0)
    work = lineage_pca(tnk[rows], extra_genes=[], options=SubsetOptions())
    pcs = _project(tnk, work, chunk=700)
    assert np.allclose(pcs[rows], work.obsm["X_pca"], atol=1e-3)


def test_sketch_agrees_with_full_subclustering(tnk, tmp_path) -> None:
    lineage = tnk.obs["compartment"].astype(str)
    full, _ = annotate_subsets(tnk, lineage, options=SubsetOptions(sketch_above=None))
    sketch, _ = annotate_subsets(tnk, lineage, options=SubsetOptions(sketch_above=400))
    t_nk = (lineage == "T_NK").to_numpy()
    assert t_nk.sum() > 400  # the T/NK lineage is sketched
    # state labels: >= 0.9 of cells as with all cells (issue 14), and the truth recovered
    assert (full["subset"] == sketch["subset"]).mean() >= 0.9
    truth = tnk.obs["cell_type"].astype(str).to_numpy()
    want = {"CD8_T": "CD8_T", "CD4_T": "CD4_T", "Treg": "CD4_T", "NK": "NK"}
    roots = sketch["subset_root"].to_numpy()[t_nk]
    assert np.mean([want.get(t) == r for t, r in zip(truth[t_nk], roots, strict=True)]) >= 0.9
    assert adjusted_rand_score(truth[t_nk], sketch["subcluster"][t_nk]) >= 0.5
    # determinism and bounded memory: the same tables from the file opened backed (sketched
    # lineages: marker genes of all cells, all genes of the sketch only, the projection chunk
    # by chunk; chunks of 700 cells, so a lineage spans several), in two passes over the file
    # (every lineage's cells and sketch, then the projections), not a few per lineage
    path = tmp_path / "clustered.h5ad"
    tnk.write_h5ad(path)
    backed = read_expression(path, backed=True)
    one_pass = backed_rows.iter_row_sets
    with (
        patch("tmesig.subsets._sketch.ROW_CHUNK", 700),
        patch("tmesig.subsets._from_file.ROW_CHUNK", 700),
        patch("tmesig.io.backed_rows.iter_row_sets", wraps=one_pass) as p1,
        patch("tmesig.subsets._sketch.iter_row_sets", wraps=one_pass) as p2,
    ):
        again, _ = annotate_subsets(backed, lineage, options=SubsetOptions(sketch_above=400))
    pd.testing.assert_frame_equal(again, sketch)
    assert lineage.nunique() > 1 and (p1.call_count, p2.call_count) == (1, 1)
    whole, _ = annotate_subsets(backed, lineage, options=SubsetOptions(sketch_above=None))
    pd.testing.assert_frame_equal(whole, full)


def test_sketch_above_must_allow_subclusters() -> None:
    with pytest.raises(ValueError, match="sketch_above"):
        SubsetOptions(sketch_above=10)


def test_sketch_transfer_uses_the_fast_exact_search_with_the_same_labels(tnk) -> None:
    """Every cell's nearest sketch cells by scikit-learn's ArgKmin (float64, C-ordered), not
    its chunked fallback (what mixed float32/float64 arrays fell to): the same labels."""
    import sklearn
    from sklearn.metrics._pairwise_distances_reduction import ArgKmin

    lineage = tnk.obs["compartment"].astype(str)
    opts = SubsetOptions(sketch_above=400)
    real, used = ArgKmin.compute, []

    def spy(*args, **kwargs):
        used.append((kwargs["X"].shape[0], kwargs["Y"].shape[0]))
        return real(*args, **kwargs)

    with patch.object(ArgKmin, "compute", spy):
        fast, _ = annotate_subsets(tnk, lineage, options=opts)
    # every cell of each sketched lineage placed on its sketch by ArgKmin
    sizes = lineage.value_counts()
    sketched = sizes[sizes > 400].tolist()
    assert len(sketched) >= 2
    assert all(any(x == n and y < n for x, y in used) for n in sketched), used
    with sklearn.config_context(enable_cython_pairwise_dist=False):  # the chunked path
        slow, _ = annotate_subsets(tnk, lineage, options=opts)
    pd.testing.assert_frame_equal(fast, slow)
