"""Split-off of disjoint sub-clusters and background-net agreement on a targeted panel."""

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tmesig import annotate
from tmesig.annotate._panel_votes import agreement
from tmesig.constants import UNASSIGNED


def test_agreement_by_hand():
    """Two clusters, lineages A, B, C. Cluster 0: 10 evidence cells, 4 vote A, 3 B, 3 C;
    cluster 1: 10 cells, 1 A, 0 B, 9 C (and 2 cells without evidence)."""
    comps = np.array(["A", "B", "C"], dtype=object)
    votes0 = ["A"] * 4 + ["B"] * 3 + ["C"] * 3
    votes1 = ["A"] + ["C"] * 9 + [UNASSIGNED] * 2
    cell_comp = np.array(votes0 + votes1, dtype=object)
    has = cell_comp != UNASSIGNED
    codes = np.array([0] * 10 + [1] * 12)
    top = np.array(["A", "C"], dtype=object)
    got = agreement(codes, cell_comp, has, top, comps, 2)
    # cluster 0: v = (.4, .3, .3), rest r = (.1, 0, .9): excess B .3, C 0 -> .4 / .7
    # cluster 1: v = (.1, 0, .9), rest r = (.4, .3, .3): excess A 0 -> .9 / .9
    assert np.allclose(got, [0.4 / 0.7, 1.0])
    # no top lineage or no evidence: 0
    none = agreement(codes, cell_comp, has, np.array([UNASSIGNED, "C"], dtype=object), comps, 2)
    assert none[0] == 0.0


def _plasma_in_t(seed: int = 0) -> tuple[ad.AnnData, dict[str, list[str]], np.ndarray]:
    """One Leiden cluster of 120 T cells (3 T markers, 50 % each) and 80 plasma cells whose
    only marker on the panel (TNFRSF17) is detected in 20 % of them; the plasma cells also
    share a 15-gene program of their own (30 %) that is no marker; a myeloid cluster and a
    fibroblast cluster; ambient collagen on 30 % of every cell."""
    rng = np.random.default_rng(seed)
    genes = ["CD3E", "CD2", "TRAC", "TNFRSF17", "CD68", "LYZ", "C1QA", "COL1A1", "COL3A1"]
    program = [f"P{i}" for i in range(15)]
    noise = [f"N{i}" for i in range(20)]
    genes += program + noise
    planted = np.array(["T_NK"] * 120 + ["B_plasma"] * 80 + ["myeloid"] * 100 + ["fib"] * 100)
    n = len(planted)
    x = (rng.random((n, len(genes))) < 0.03).astype(float)
    x[:, -20:] = rng.random((n, 20)) < 0.10
    col = {g: j for j, g in enumerate(genes)}
    for g in ("CD3E", "CD2", "TRAC"):
        x[planted == "T_NK", col[g]] = rng.random(120) < 0.5
    x[planted == "B_plasma", col["TNFRSF17"]] = rng.random(80) < 0.2
    x[planted != "B_plasma", col["TNFRSF17"]] = 0.0
    for g in program:
        x[planted == "B_plasma", col[g]] = rng.random(80) < 0.3
    for g in ("CD68", "LYZ", "C1QA"):
        x[planted == "myeloid", col[g]] = rng.random(100) < 0.5
    for g in ("COL1A1", "COL3A1"):
        x[:, col[g]] = rng.random(n) < 0.3
        x[planted == "fib", col[g]] = rng.random(100) < 0.8
    x *= 1.0 + rng.random(x.shape)
    clusters = ["0"] * 200 + ["1"] * 100 + ["2"] * 100
    a = ad.AnnData(X=sp.csr_matrix(x.astype(np.float32)), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(n)]
    a.obs["leiden"] = pd.Categorical(clusters)
    cand = {
        "T_NK": ["CD3E", "CD2", "TRAC"],
        "B_plasma": ["TNFRSF17", "MS4A1"],
        "myeloid": ["CD68", "LYZ", "C1QA"],
        "fibroblast": ["COL1A1", "COL3A1"],
    }
    return a, cand, planted


def test_plasma_cells_inside_a_t_cluster_are_split_off_and_called():
    a, cand, planted = _plasma_in_t()
    plain, _, _ = annotate.annotate_panel(a, cand, options=annotate.PanelOptions(split=False))
    assert (plain["compartment"].to_numpy()[planted == "B_plasma"] == "B_plasma").mean() == 0
    cells, clusters, used = annotate.annotate_panel(a, cand)
    calls = cells["compartment"].to_numpy()
    assert used["B_plasma"] == ["TNFRSF17"]
    assert (calls[planted == "B_plasma"] == "B_plasma").mean() >= 0.8
    # 1/8 of the T cells show none of their 3 markers: some fall with the plasma cells
    assert (calls[planted == "T_NK"] == "T_NK").mean() >= 0.85
    assert (calls[planted == "myeloid"] == "myeloid").all()
    assert (calls[planted == "fib"] == "fibroblast").all()
    assert clusters["cluster"].str.startswith("0.").any()  # a split-off sub-cluster


def test_a_clean_cluster_is_not_split():
    """Without a disjoint part (the plasma cells removed) no cluster is split."""
    a, cand, planted = _plasma_in_t(seed=1)
    b = a[planted != "B_plasma"].copy()
    _, clusters, _ = annotate.annotate_panel(b, cand)
    assert clusters["cluster"].tolist() == ["0", "1", "2"]
    assert clusters["compartment"].tolist() == ["T_NK", "myeloid", "fibroblast"]
