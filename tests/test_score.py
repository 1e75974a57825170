import numpy as np
import pytest
import scanpy as sc

from tmesig import score
from tmesig.signatures import GeneSet


def _set(name, genes, direction="up"):
    return GeneSet(
        name=name, title=name, genes=tuple(genes), direction=direction, compartments=("any",),
        mechanism="m", card=False, provenance={"seed": "x", "section": "y"},
    )


@pytest.fixture
def lognorm(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def test_coverage_by_hand(lognorm):
    a = lognorm
    a.X[:, 5] = 0  # G5 present but never expressed
    a.X.eliminate_zeros()
    sets = [
        _set("full", ["G0", "G1", "G2", "G3"]),
        _set("half", ["G0", "G1", "NOPE1", "NOPE2"]),
        _set("quarter", ["G0", "NOPE1", "NOPE2", "NOPE3"]),
        _set("silent", ["G5"]),
    ]
    cov = score.coverage_table(a, sets, min_coverage=0.5).set_index("set")
    assert cov.loc["full", ["n_genes", "n_found", "n_expressed"]].tolist() == [4, 4, 4]
    assert cov.loc["half", "fraction"] == 0.5 and cov.loc["half", "scored"]
    assert cov.loc["half", "genes_missing"] == "NOPE1,NOPE2"
    assert not cov.loc["quarter", "scored"] and "coverage 0.25" in cov.loc["quarter", "reason"]
    assert not cov.loc["silent", "scored"] and "expressed" in cov.loc["silent", "reason"]


def test_scores_equal_scanpy_score_genes(lognorm):
    sets = [_set("s1", [f"G{i}" for i in range(15)]), _set("s2", ["G20", "G40", "G60", "NOPE"])]
    scores, cov = score.score_cells(lognorm, sets, min_coverage=0.5, ctrl_size=20, n_bins=10, seed=7)
    for gs in sets:
        ref = lognorm.copy()
        genes = [g for g in gs.genes if g in ref.var_names]
        sc.tl.score_genes(ref, genes, ctrl_size=20, n_bins=10, random_state=7, score_name="ref")
        np.testing.assert_allclose(scores[gs.name].to_numpy(), ref.obs["ref"].to_numpy(), atol=1e-5)
    # the planted program (genes 0-14 up in group A) is highest in group A
    means = scores.groupby(lognorm.obs["group"].to_numpy())["s1"].mean()
    assert means.idxmax() == "A" and means["A"] - means.drop("A").max() > 1.0


def test_low_coverage_set_not_scored(lognorm):
    sets = [_set("ok", ["G0", "G1"]), _set("bad", ["G0", "X1", "X2", "X3"])]
    scores, cov = score.score_cells(lognorm, sets, min_coverage=0.5)
    assert list(scores.columns) == ["ok"]
    assert cov.set_index("set").loc["bad", "scored"] == False  # noqa: E712
