"""Further null sets scored against per-sample gene contrasts, and one draw for two levels."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import flag, score
from tmesig.flag._calibration import calibrate_levels
from tmesig.flag._contrasts import GeneContrasts, null_set_contrasts, within_sample_contrasts
from tmesig.signatures import GeneSet


def _gs(name, genes, direction="up"):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction=direction,
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


@pytest.fixture(scope="module")
def data():
    """Log-like expression: 3 lineages (one with 2 states) × 4 samples, uneven group sizes,
    some unassigned cells; genes G0-G7 raised in myeloid."""
    rng = np.random.default_rng(4)
    n_genes, rows, lin, state, smp = 300, [], [], [], []
    base = rng.gamma(1.0, 1.0, n_genes)
    for s in range(4):
        sizes = (("T_NK", 30 + 5 * s), ("myeloid", 25), ("epithelial", 20), ("unassigned", 6))
        for comp, n in sizes:
            lam = np.tile(base, (n, 1)) * rng.uniform(0.7, 1.3, size=(n, 1))
            if comp == "myeloid":
                lam[:, :8] *= 5
            rows.append(np.log1p(rng.poisson(lam)))
            lin += [comp] * n
            smp += [f"s{s}"] * n
            state += [f"{comp}_a" if i % 3 else f"{comp}_b" for i in range(n)]
    a = ad.AnnData(
        X=sp.csr_matrix(np.vstack(rows)), var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)])
    )
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    idx = a.obs_names
    lin, state, smp = (pd.Series(v, index=idx) for v in (lin, state, smp))
    state = state.where(lin != "unassigned", "unassigned")
    return a, lin, state, smp


SETS = [_gs("UP", [f"G{i}" for i in range(8)]), _gs("MIX", [f"G{i}" for i in range(4, 30)], "down")]
SOPTS = score.ScoreOptions(ctrl_size=15, n_bins=8, seed=5)


def _nulls(a, labels, smp):
    groups = pd.DataFrame({"compartment": labels, "sample": smp})
    return score.null_group_means(a, SETS, groups=groups, n_null=49, options=SOPTS)


def test_within_sample_contrasts_by_hand(data):
    """Cell-level difference of means, sample by sample, unassigned cells left out."""
    a, lin, _, smp = data
    nulls = _nulls(a, lin, smp)
    got = within_sample_contrasts(nulls.profile, nulls.n_cells, min_cells=10)
    x = a.X.toarray()
    assert sorted(got) == ["T_NK", "epithelial", "myeloid"]
    for c in got:
        for s in ("s0", "s3"):
            inside = ((lin == c) & (smp == s)).to_numpy()
            outside = ((lin != c) & (lin != "unassigned") & (smp == s)).to_numpy()
            want = x[inside].mean(0) - x[outside].mean(0)
            np.testing.assert_allclose(got[c].loc[s].to_numpy(), want, atol=1e-12)


def test_null_set_contrasts_equal_group_means_route(data):
    """Null sets scored against the gene contrasts = the sampler's group means, then the
    within-sample contrast (the route of the previous version), for every compartment."""
    a, lin, _, smp = data
    nulls = _nulls(a, lin, smp)
    genes = GeneContrasts(nulls.profile, nulls.n_cells, min_cells=10)
    for name, batch, size in (("UP", 1, 300), ("MIX", 3, 17)):
        means = nulls.sampler.means(name, batch, size)
        want = within_sample_contrasts(means, nulls.n_cells, min_cells=10)
        null, ctrl, keep = nulls.sampler.draw(name, batch, size)
        assert (~keep).any() or name == "UP"  # control draws that hit a null gene are dropped
        for comp, frame in want.items():
            got = null_set_contrasts(null, ctrl, keep, genes.genes_by_samples(comp))
            np.testing.assert_allclose(got, frame.to_numpy(), rtol=1e-10, atol=1e-13)
    # and by hand from the cells for one null set
    null, ctrl, keep = nulls.sampler.draw("UP", 2, 3)
    x = a.X.toarray()
    cell = x[:, null[1]].mean(1) - x[:, ctrl[1][keep[1]]].mean(1)
    inside = ((lin == "myeloid") & (smp == "s1")).to_numpy()
    outside = ((lin != "myeloid") & (lin != "unassigned") & (smp == "s1")).to_numpy()
    got = null_set_contrasts(null, ctrl, keep, genes.genes_by_samples("myeloid"))
    assert got[1, 1] == pytest.approx(cell[inside].mean() - cell[outside].mean(), abs=1e-12)


def test_two_levels_in_one_run_equal_each_level_alone(data):
    """Drawing each batch once for both levels gives each level's own calibration."""
    a, lin, state, smp = data
    levels = {"lineage": _nulls(a, lin, smp), "state": _nulls(a, state, smp)}
    kw = {"min_cells": 5, "n_null_max": 4000, "null_hits": 10}
    joint = calibrate_levels(levels, SETS, **kw)
    for level, nulls in levels.items():
        alone = flag.null_calibration(nulls, SETS, **kw)
        pd.testing.assert_frame_equal(joint[level], alone)
        assert (alone["n_null"] > 49).any()  # some tests drew further
    assert joint["lineage"].set_index(["compartment", "set"]).loc[("myeloid", "UP"), "p_null"] == (
        1 / 4001
    )


def test_null_set_contrasts_are_the_plain_loop_bit_for_bit():
    """Each null set: its genes' contrasts added in order times 1/k, then the kept control
    genes' times -1/kept, in one accumulator per sample (a plain numpy loop)."""
    rng = np.random.default_rng(5)
    d_t = np.ascontiguousarray(rng.normal(size=(400, 23)))
    null = rng.integers(0, 400, (57, 9))
    ctrl = rng.integers(0, 400, (57, 120))
    keep = rng.random((57, 120)) > 0.1
    keep[3] = False  # no control kept: the weight's denominator is 1
    want = np.empty((23, 57))
    for i in range(57):
        acc = np.zeros(23)
        for g in null[i]:
            acc += (1.0 / 9) * d_t[g]
        w = -1.0 / max(int(keep[i].sum()), 1)
        for g in ctrl[i][keep[i]]:
            acc += w * d_t[g]
        want[:, i] = acc
    np.testing.assert_array_equal(null_set_contrasts(null, ctrl, keep, d_t), want)
