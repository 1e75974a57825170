"""Cluster-level lineage calls on a targeted panel (tmesig.annotate.annotate_panel)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import annotate
from tmesig.constants import LINEAGES, UNASSIGNED


def _adata(x: np.ndarray, genes: list[str], clusters: list[str]) -> ad.AnnData:
    a = ad.AnnData(X=sp.csr_matrix(x.astype(np.float32)), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(x.shape[0])]
    a.obs["leiden"] = pd.Categorical(clusters)
    return a


def test_cluster_contrast_by_hand():
    # cluster 0: 4 cells, cluster 1: 6 cells; A detected in 3/4 of 0 and 1/6 of 1
    x = np.zeros((10, 2))
    x[[0, 1, 2, 5], 0] = 1.0
    x[:, 1] = 2.0
    a = _adata(x, ["A", "B"], ["0"] * 4 + ["1"] * 6)
    fraction, contrast = annotate.cluster_contrast(a, ["A", "B"])
    assert fraction.loc["0", "A"] == pytest.approx(0.75)
    assert fraction.loc["1", "A"] == pytest.approx(1 / 6)
    assert contrast.loc["0", "A"] == pytest.approx(0.75 - 1 / 6)
    assert contrast.loc["1", "A"] == pytest.approx(1 / 6 - 0.75)
    assert contrast["B"].tolist() == [0.0, 0.0]  # detected everywhere: no contrast


def _planted(seed: int = 0) -> tuple[ad.AnnData, dict[str, list[str]]]:
    """Four planted clusters of 60 cells on a sparse 'panel' (each marker detected in 40 %
    of its lineage's cells, 3 % elsewhere): T/NK (4 markers), myeloid (3), epithelial (KRT8
    only) and a cluster expressing no marker; plus 20 noise genes detected in 10 % of all
    cells."""
    rng = np.random.default_rng(seed)
    markers = {
        "T_NK": ["CD3E", "CD2", "NKG7", "CD3D"],
        "myeloid": ["CD68", "LYZ", "C1QA"],
        "epithelial": ["KRT8"],
    }
    noise = [f"N{i}" for i in range(20)]
    genes = [g for v in markers.values() for g in v] + noise
    groups = ["T_NK", "myeloid", "epithelial", "none"]
    n = 60
    x = (rng.random((n * 4, len(genes))) < 0.03).astype(float)
    x[:, -20:] = rng.random((n * 4, 20)) < 0.10
    for k, grp in enumerate(groups):
        for g in markers.get(grp, []):
            j = genes.index(g)
            x[k * n : (k + 1) * n, j] = rng.random(n) < 0.40
    x *= 1.0 + rng.random(x.shape)
    clusters = [str(k) for k in range(4) for _ in range(n)]
    # candidates also name markers the panel lacks and one mast gene never singled out
    cand = {**markers, "T_NK": [*markers["T_NK"], "TRAC"], "mast": ["N0"]}
    return _adata(x, genes, clusters), cand


def test_planted_sparse_panel_calls_each_cluster():
    a, cand = _planted()
    cells, clusters, used = annotate.annotate_panel(a, cand)
    assert clusters["compartment"].tolist() == ["T_NK", "myeloid", "epithelial", UNASSIGNED]
    assert used["epithelial"] == ["KRT8"]  # one marker suffices on a panel
    assert "TRAC" not in used["T_NK"] and used["mast"] == []  # not measured / not singled out
    assert cells.attrs["markers_used"] is not None and list(cells.columns[:5]) == [
        "cluster",
        "compartment",
        "confidence",
        "cell_compartment",
        "cell_confidence",
    ]
    assert (cells["compartment"].to_numpy() == np.repeat(clusters["compartment"], 60)).all()
    # the score of T_NK in its cluster: mean of the 3 largest marker contrasts, by hand
    frac = a[:60, used["T_NK"]].X.toarray() > 0
    rest = a[60:, used["T_NK"]].X.toarray() > 0
    by_hand = np.sort(frac.mean(axis=0) - rest.mean(axis=0))[-3:].mean()
    assert clusters.loc[0, "score_T_NK"] == pytest.approx(by_hand)
    # the previous caller (per-cell agreement, >= 2 markers) misses the KRT8-only lineage
    markers = {k: v for k, v in annotate.expressed_markers(a, cand).items() if v}
    with pytest.warns(UserWarning):
        _, old = annotate.annotate(a, markers)
    assert old.loc[2, "compartment"] != "epithelial"


def test_a_mixed_cluster_is_unassigned():
    a, cand = _planted(seed=1)
    x = a.X.toarray()
    # cluster 4: 60 cells, half T/NK-like and half myeloid-like (a doublet-like mixture)
    mix = np.concatenate([x[:30], x[60:90]])
    b = _adata(np.vstack([x, mix]), list(a.var_names), [*a.obs["leiden"], *["4"] * 60])
    no_split = annotate.PanelOptions(split=False)
    _, clusters, _ = annotate.annotate_panel(b, cand, options=no_split)
    row = clusters.set_index("cluster").loc["4"]
    assert row["compartment"] == UNASSIGNED and row["agreement"] < 0.7
    # with the trial split, the T-like half is split off (disjoint evidence) and each half
    # is called by its planted lineage
    cells, _, _ = annotate.annotate_panel(b, cand)
    calls = cells["compartment"].to_numpy()[240:]
    assert (calls[:30] == "T_NK").mean() >= 0.6 and (calls[30:] == "myeloid").mean() >= 0.9
    assert (calls[:30] != "myeloid").mean() >= 0.6


def test_deterministic_and_options_checked():
    a, cand = _planted()
    c1, k1, _ = annotate.annotate_panel(a, cand)
    c2, k2, _ = annotate.annotate_panel(a, cand)
    pd.testing.assert_frame_equal(c1, c2)
    pd.testing.assert_frame_equal(k1, k2)
    assert set(k1.columns) >= {f"score_{lin}" for lin in LINEAGES if lin in cand}
    with pytest.raises(ValueError, match="top_k"):
        annotate.PanelOptions(top_k=0)
    with pytest.raises(ValueError, match="min_margin"):
        annotate.PanelOptions(min_margin=1.5)


def test_a_mixed_t_and_b_cluster_is_split_and_called():
    """One Leiden cluster holding 80 planted T cells and 80 planted B cells (markers detected
    in 50 % of their cells, 3 % elsewhere): without refinement it is unassigned; sub-clustered,
    the cells are called by their planted lineage."""
    rng = np.random.default_rng(0)
    markers = {
        "T_NK": ["CD3E", "CD2", "NKG7"],
        "B_plasma": ["MS4A1", "CD79A", "CD79B"],
        "myeloid": ["CD68", "LYZ", "C1QA"],
    }
    genes = [g for v in markers.values() for g in v] + [f"N{i}" for i in range(20)]
    planted = ["T_NK"] * 80 + ["B_plasma"] * 80 + ["myeloid"] * 80
    x = (rng.random((240, len(genes))) < 0.03).astype(float)
    for i, lin in enumerate(planted):
        for g in markers[lin]:
            x[i, genes.index(g)] = float(rng.random() < 0.5)
    x *= 1.0 + rng.random(x.shape)
    a = _adata(x, genes, ["0"] * 160 + ["1"] * 80)
    plain_opts = annotate.PanelOptions(refine=False, split=False)
    _, plain, _ = annotate.annotate_panel(a, markers, options=plain_opts)
    assert plain["compartment"].tolist() == [UNASSIGNED, "myeloid"]
    cells, clusters, _ = annotate.annotate_panel(a, markers)
    assert clusters["cluster"].str.startswith("0.").sum() >= 2  # the mixture was split
    calls = cells["compartment"].to_numpy()
    truth = np.array(planted)
    # a cell with none of its 3 markers detected (1/8 of them) carries no evidence: about
    # 7/8 can be recovered, and the calls made are right
    assert (calls[:160] == truth[:160]).mean() >= 0.7
    made = calls[:160] != UNASSIGNED
    assert (calls[:160][made] == truth[:160][made]).mean() >= 0.9
    assert (calls[160:] == "myeloid").all()


def test_one_shared_gene_does_not_call_a_lineage_with_several_markers():
    """Planted: an endothelial cluster detecting PECAM1, CLDN5 and VWF (60 % of its cells);
    a plasma cluster detecting PECAM1 as well (as plasma cells do) but none of the plasma
    candidates the panel lacks; a T cluster. PECAM1 alone must not call the plasma cluster
    endothelial: the endothelial cluster shows three markers, the plasma cluster one."""
    rng = np.random.default_rng(2)
    genes = ["PECAM1", "CLDN5", "VWF", "CD3E", "CD2", "NKG7"] + [f"N{i}" for i in range(20)]
    n = 80
    x = (rng.random((3 * n, len(genes))) < 0.03).astype(float)
    for j in range(3):  # endothelial markers in cluster 0
        x[:n, j] = rng.random(n) < 0.6
    x[n : 2 * n, 0] = rng.random(n) < 0.6  # PECAM1 in the plasma cluster
    for j in range(3, 6):  # T markers in cluster 2
        x[2 * n :, j] = rng.random(n) < 0.6
    x *= 1.0 + rng.random(x.shape)
    a = _adata(x, genes, ["0"] * n + ["1"] * n + ["2"] * n)
    cand = {"T_NK": ["CD3E", "CD2", "NKG7"], "endothelial": ["PECAM1", "CLDN5", "VWF"]}
    off = annotate.PanelOptions(min_support=1, refine=False, rescue=False)
    _, old, _ = annotate.annotate_panel(a, cand, options=off)
    assert old["compartment"].tolist() == ["endothelial", "endothelial", "T_NK"]
    on = annotate.PanelOptions(refine=False, rescue=False)
    _, new, _ = annotate.annotate_panel(a, cand, options=on)
    assert new["compartment"].tolist() == ["endothelial", UNASSIGNED, "T_NK"]
    # the reported score is still the mean of the 3 best contrasts (here PECAM1's alone / 3)
    frac = (x[:, 0] > 0).astype(float)
    by_hand = (frac[n : 2 * n].mean() - np.r_[frac[:n], frac[2 * n :]].mean()) / 3
    assert new.loc[1, "score_endothelial"] == pytest.approx(by_hand)
    # a lineage whose own best cluster shows one marker (KRT8-only panels) needs one
    cand1 = {"T_NK": ["CD3E", "CD2", "NKG7"], "endothelial": ["PECAM1"]}
    _, one, _ = annotate.annotate_panel(a[: 2 * n].copy(), cand1, options=on)
    assert one["compartment"].tolist() == [UNASSIGNED, UNASSIGNED]  # equal PECAM1 rates
    with pytest.raises(ValueError, match="min_support"):
        annotate.PanelOptions(min_support=0)


def _tumour_with_stromal_genes(genes_present: list[str]) -> ad.AnnData:
    """Planted: fibroblasts detecting COL1A1, DCN and TAGLN (60 % of cells); tumour cells
    detecting TAGLN, SCARA3 and SBSPON (60 %; broader fibroblast candidates that tumours
    express) and KRT8 (25 %); T cells detecting CD3E, CD2 and NKG7. 80 cells each, 3 %
    background, 20 noise genes."""
    rng = np.random.default_rng(5)
    planted = {
        "0": ["COL1A1", "DCN", "TAGLN"],
        "1": ["TAGLN", "SCARA3", "SBSPON"],
        "2": ["CD3E", "CD2", "NKG7"],
    }
    genes = [*genes_present, *(f"N{i}" for i in range(20))]
    n = 80
    x = (rng.random((3 * n, len(genes))) < 0.03).astype(float)
    for k, (_, marked) in enumerate(planted.items()):
        for g in marked:
            if g in genes:
                x[k * n : (k + 1) * n, genes.index(g)] = rng.random(n) < 0.6
    x[n : 2 * n, genes.index("KRT8")] = rng.random(n) < 0.25
    x *= 1.0 + rng.random(x.shape)
    return _adata(x, genes, [str(k) for k in range(3) for _ in range(n)])


def test_a_lineage_with_core_markers_is_not_called_from_broader_candidates_alone():
    cand = {
        "T_NK": ["CD3E", "CD2", "NKG7"],
        "fibroblast": ["COL1A1", "DCN", "TAGLN", "SCARA3", "SBSPON"],
        "epithelial": ["KRT8"],
    }
    genes = ["COL1A1", "DCN", "TAGLN", "SCARA3", "SBSPON", "KRT8", "CD3E", "CD2", "NKG7"]
    a = _tumour_with_stromal_genes(genes)
    opts = annotate.PanelOptions(refine=False, split=False, rescue=False)
    core = {"fibroblast": ["COL1A1", "DCN"], "epithelial": ["KRT8"], "T_NK": ["CD3E", "CD2"]}
    # without core markers the tumour cluster is called from its three stromal candidates
    _, old, _ = annotate.annotate_panel(a, cand, options=opts, core={})
    assert old["compartment"].tolist() == ["fibroblast", "fibroblast", "T_NK"]
    # fibroblasts' two core markers are on the panel: the tumour cluster shows neither
    _, new, _ = annotate.annotate_panel(a, cand, options=opts, core=core)
    assert new["compartment"].tolist() == ["fibroblast", "epithelial", "T_NK"]
    # the default core markers are the compartment marker file's (COL1A1, DCN, KRT8...)
    _, default, _ = annotate.annotate_panel(a, cand, options=opts)
    assert default["compartment"].tolist() == new["compartment"].tolist()
    # one core marker on the panel (DCN absent) cannot gate: the old call stands
    genes1 = [g for g in genes if g != "DCN"]
    a1 = _tumour_with_stromal_genes(genes1)
    _, one, _ = annotate.annotate_panel(a1, cand, options=opts, core=core)
    assert one["compartment"].tolist() == ["fibroblast", "fibroblast", "T_NK"]


def test_ambient_transcripts_of_a_highly_expressed_marker_are_not_detection():
    """Planted: plasma cells hold ~100 transcripts of IGKC; tumour cells 1 ambient transcript
    in 60 % of them (10 % elsewhere). By presence alone the tumour cluster 'detects' IGKC
    0.5 more often than the rest; at a level floor of 0.1 x the 0.9 quantile it does not."""
    rng = np.random.default_rng(4)
    n = 80
    x = np.zeros((3 * n, 2))
    x[:n, 0] = rng.poisson(100, n)  # plasma: IGKC high
    x[n : 2 * n, 0] = rng.random(n) < 0.6  # tumour: one ambient transcript
    x[2 * n :, 0] = rng.random(2 * n - n) < 0.1
    x[:, 1] = 1.0
    a = _adata(np.log1p(x), ["IGKC", "ACTB"], ["0"] * n + ["1"] * n + ["2"] * n)
    fraction, contrast = annotate.cluster_contrast(a, ["IGKC"])
    assert fraction.loc["0", "IGKC"] == 1.0
    assert fraction.loc["1", "IGKC"] == 0.0 and contrast.loc["1", "IGKC"] < 0
    # a marker at ordinary levels (1-3 transcripts wherever seen) keeps its presence rule
    y = np.zeros((3 * n, 1))
    y[:n, 0] = rng.integers(1, 4, n)
    y[n:, 0] = (rng.random(2 * n) < 0.05) * 1.0
    b = _adata(np.log1p(y), ["CD3E"], ["0"] * n + ["1"] * n + ["2"] * n)
    frac_b, _ = annotate.cluster_contrast(b, ["CD3E"])
    assert frac_b.loc["0", "CD3E"] == 1.0
    assert frac_b.loc["1", "CD3E"] == pytest.approx((y[n : 2 * n, 0] > 0).mean())
