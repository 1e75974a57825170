"""Refined CD8 states in the simulator (issue 11): the planted shift, and nothing else moves."""

import numpy as np
import pytest
import scipy.sparse as sp
from tmesig import simulate
from tmesig.subsets import load_subset_markers

CD8_STATES = ["CD8_effector_memory", "CD8_exhausted"]


@pytest.fixture(scope="module")
def pair():
    kw = {"n_genes": 1_000, "n_patients": 8, "seed": 5}
    plain = simulate.design(8_000, **kw)
    shifted = simulate.design(
        8_000, programs=(*simulate.DEFAULT_PROGRAMS, simulate.CD8_EXHAUSTED_SHIFT), **kw
    )
    return plain, shifted


def test_shift_relabels_cd8_only_and_keeps_every_other_draw(pair):
    plain, shifted = pair
    a, b = plain.obs, shifted.obs
    cd8 = (a["cell_type"] == "CD8_T").to_numpy()
    assert set(b.loc[cd8, "cell_type"].astype(str)) == set(CD8_STATES)
    assert (a.loc[~cd8, "cell_type"].astype(str) == b.loc[~cd8, "cell_type"].astype(str)).all()
    assert (b.loc[cd8, "compartment"] == "T_NK").all()
    for col in ("patient", "sample", "response", "timepoint", "depth", "clone"):
        assert (a[col].astype(str) == b[col].astype(str)).all(), col
    # the exhaustion program planted in CD8_T reaches both CD8 states, in the same cells
    col = "planted_exhaustion_cd8_nr"
    assert (a[col] == b[col]).all()
    assert set(b.loc[b[col], "cell_type"].astype(str)) == set(CD8_STATES)
    # the profiles of the other cell types are unchanged
    keep = ~cd8 & ~a["planted_exhaustion_cd8_nr"].to_numpy()
    np.testing.assert_array_equal(
        plain.profiles[plain.state[keep]], shifted.profiles[shifted.state[keep]]
    )
    rec = shifted.uns["simulation"]
    assert rec["state_shifts"]["cd8_exhausted_shift_nr"]["share"] == {"R": 0.2, "NR": 0.45}
    assert (
        set(CD8_STATES) <= set(rec["cell_types"]) and "state_shifts" not in plain.uns["simulation"]
    )
    assert not rec["null"]


def test_exhausted_share_follows_the_planted_mix(pair):
    obs = pair[1].obs
    cd8 = obs[obs["cell_type"].isin(CD8_STATES)]
    share = cd8.groupby(["response", "sample"], observed=True)["cell_type"].apply(
        lambda c: (c == "CD8_exhausted").mean()
    )
    assert abs(share["R"].mean() - 0.2) < 0.08 and abs(share["NR"].mean() - 0.45) < 0.08
    assert share["R"].std() > 0.02  # samples vary around the mean (Beta draws)
    null = simulate.design(
        4_000, n_genes=1_000, n_patients=8, seed=5, programs=(simulate.CD8_NULL_SHIFT,)
    )
    assert null.uns["simulation"]["null"]


def test_state_profiles_follow_the_subset_markers():
    adata = simulate.simulate(
        4_000, n_genes=1_000, n_patients=4, seed=2, programs=(simulate.CD8_NULL_SHIFT,)
    )
    x = sp.csc_matrix(adata.X)
    ct = adata.obs["cell_type"].astype(str).to_numpy()
    by = {s.name: s for s in load_subset_markers().subsets}

    def detected(cells, genes):  # mean fraction of the genes detected per cell
        idx = [adata.var_names.get_loc(g) for g in genes if g in adata.var_names]
        return float((x[cells][:, idx] > 0).mean())

    ex, em = ct == "CD8_exhausted", ct == "CD8_effector_memory"
    assert ex.sum() > 50 and em.sum() > 50
    ex_genes, em_genes = by["CD8_exhausted"].genes, by["CD8_effector_memory"].genes
    em_only = [g for g in em_genes if g not in by["CD8_T"].genes]
    assert detected(ex, ex_genes) > detected(em, ex_genes) + 0.2
    assert detected(em, em_only) > detected(ex, em_only) + 0.2
    assert detected(ex, ["CD8A", "CD8B"]) > 0.9 and detected(em, ["CD8A", "CD8B"]) > 0.9


def test_bad_shifts_refused():
    bad = simulate.StateShift("s", "CD4_T", ("CD8_effector_memory", "CD8_exhausted"), {"R": 0.2})
    with pytest.raises(ValueError, match="cannot split 'CD4_T'"):
        simulate.design(100, programs=(bad,))
    bad = simulate.StateShift("s", "CD8_T", ("CD8_effector_memory", "CD8_exhausted"), {"R": 1.2})
    with pytest.raises(ValueError, match=r"shares must be in \(0, 1\)"):
        simulate.design(100, programs=(bad,))
