"""Copy number in bounded memory (tmesig.cnv.call_malignant_capped): cap, transfer, identity."""

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from conftest import planted_cnv
from sklearn.metrics import f1_score
from tmesig.cnv import CnvCap, CnvOptions, call_malignant, call_malignant_capped, capped_cells
from tmesig.cnv._capped import _neighbour_calls
from tmesig.io.expression import read_expression

#: Planted groups (test_cnv_purify.py's sizes): 800 cells in two samples.
GROUPS = {"T_NK": 150, "myeloid": 150, "fibroblast": 200, "normal_epi": 80, "tumour": 220}


@pytest.fixture(scope="module")
def planted():
    adata, truth = planted_cnv(0, groups=GROUPS)
    adata.obs["sample"] = np.where(np.arange(adata.n_obs) % 2 == 0, "s1", "s2")
    sc.pp.pca(adata, n_comps=15, random_state=0)
    lineage = adata.obs["lineage"].astype(str)
    uncapped = call_malignant(adata.copy(), lineage=lineage, options=CnvOptions(seed=0))
    return adata, truth, lineage, uncapped


def _capped(adata, lineage, max_cells):
    return call_malignant_capped(
        adata if adata.isbacked else adata.copy(),
        lineage=lineage,
        sample=adata.obs["sample"],
        options=CnvOptions(seed=0),
        cap=CnvCap(max_cells=max_cells),
    )


def test_capped_cells_hand_counts() -> None:
    # one sample, lineages of 10 / 100 / 50 cells, cap 60: equal shares of 20, the small
    # lineage takes its 10, the other 40 + 10 left split 25 / 25
    lineage = ["A"] * 10 + ["B"] * 100 + ["C"] * 50
    keep = capped_cells(lineage, ["s"] * 160, cap=CnvCap(max_cells=60))
    lin = np.array(lineage)
    assert [int(keep[lin == x].sum()) for x in "ABC"] == [10, 25, 25]
    # three samples of 160, total cap 90: 30 per sample whatever max_cells
    keep3 = capped_cells(lineage * 3, np.repeat(["a", "b", "c"], 160), cap=CnvCap(600, 90))
    assert keep3.reshape(3, 160).sum(axis=1).tolist() == [30, 30, 30]
    # every lineage of every sample keeps cells; seeded
    assert all(keep3.reshape(3, 160)[:, :10].sum(axis=1) == 10)
    again = capped_cells(lineage * 3, np.repeat(["a", "b", "c"], 160), cap=CnvCap(600, 90))
    assert (keep3 == again).all()


def test_cap_not_hit_is_the_uncapped_call(planted) -> None:
    adata, _, lineage, uncapped = planted
    calls, profiled = _capped(adata, lineage, max_cells=1000)
    assert profiled.n_obs == adata.n_obs and calls["cnv_profiled"].all()
    pd.testing.assert_frame_equal(calls[uncapped.columns], uncapped)
    assert calls.attrs["n_transferred"] == 0


def test_cap_hit_recovers_planted_malignant_cells(planted, tmp_path) -> None:
    adata, truth, lineage, uncapped = planted
    calls, profiled = _capped(adata, lineage, max_cells=150)
    # two samples of 400 cells, 150 profiled each (5 lineages: 30 each)
    assert profiled.n_obs == 300 == int(calls["cnv_profiled"].sum())
    assert "X_cnv" in profiled.obsm and "X_cnv" not in adata.obsm
    moved = ~calls["cnv_profiled"].to_numpy()
    assert calls.loc[moved, "note"].str.startswith("transferred").all()
    assert not calls.loc[moved, "is_reference"].any()
    malignant = (calls["cnv_call"].astype(str) == "malignant").to_numpy()
    assert f1_score(truth, malignant) >= 0.95
    assert f1_score(truth[moved], malignant[moved]) >= 0.95
    same = calls["cnv_call"].astype(str) == uncapped["cnv_call"].astype(str)
    assert same.mean() >= 0.95
    # determinism, and bounded memory: the same calls from the file opened backed, where
    # only the 300 capped cells are read (log-normalised values as stored here)
    path = tmp_path / "clustered.h5ad"
    adata.write_h5ad(path)
    backed = read_expression(path, backed=True)
    again, read = _capped(backed, lineage, max_cells=150)
    pd.testing.assert_frame_equal(calls, again)
    assert not read.isbacked and read.n_obs == 300
    np.testing.assert_array_equal(read.obsm["X_cnv"].toarray(), profiled.obsm["X_cnv"].toarray())


def test_transfer_stays_inside_the_sample_and_lineage() -> None:
    # the same embedding in both samples: profiled cells of s1 are malignant, of s2 not;
    # a transferred cell takes its own sample's call, never the other's
    rng = np.random.default_rng(0)
    emb = np.tile(rng.normal(size=(20, 3)), (2, 1))
    smp = np.repeat(["s1", "s2"], 20)
    lin = np.array(["epithelial"] * 40)
    keep = np.tile(np.arange(20) % 2 == 0, 2)
    part = pd.DataFrame(
        {
            "cnv_call": np.repeat(["malignant", "non-malignant"], 10),
            "cnv_cluster": np.repeat(["1", "0"], 10),
            "cnv_clone": np.repeat([True, False], 10),
            "cnv_score": np.repeat([0.2, 0.01], 10),
            "cnv_corr": np.repeat([0.8, 0.1], 10),
        }
    )
    cols = _neighbour_calls(part, emb, lin, smp, keep, 15)
    moved = ~keep
    assert (cols["call"][moved & (smp == "s1")] == 0).all()  # CALLS[0] == malignant
    assert (cols["call"][moved & (smp == "s2")] == 1).all()
    assert np.allclose(cols["score"][moved & (smp == "s1")], 0.2)
    assert (cols["share"][moved] == 1.0).all() and np.isnan(cols["share"][keep]).all()
    # a lineage without profiled cells in its sample votes with the whole sample
    lin2 = lin.copy()
    lin2[moved & (smp == "s2")] = "T_NK"
    cols2 = _neighbour_calls(part, emb, lin2, smp, keep, 15)
    assert (cols2["call"][moved & (smp == "s2")] == 1).all()


def test_missing_embedding_is_an_error(planted) -> None:
    adata, _, lineage, _ = planted
    bare = adata.copy()
    del bare.obsm["X_pca"]
    with pytest.raises(ValueError, match="X_pca"):
        _capped(bare, lineage, max_cells=150)
