"""Tests for tmesig.annotate (marker-based TME compartment annotation)."""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
import yaml
from conftest import QIAN_MAP
from tmesig import paths
from tmesig.annotate import AnnotateOptions, annotate, load_markers, marker_scores
from tmesig.cluster import leiden
from tmesig.constants import LINEAGES, UNASSIGNED
from tmesig.io.errors import InputError

EXPECTED_COMPARTMENTS = (
    "T_NK",
    "B_plasma",
    "myeloid",
    "mast",
    "neutrophil",
    "fibroblast",
    "endothelial",
    "epithelial",
)


# --------------------------------------------------------------------------------------
# Shipped marker file
# --------------------------------------------------------------------------------------
def test_compartment_vocabulary() -> None:
    assert LINEAGES == EXPECTED_COMPARTMENTS
    assert UNASSIGNED == "unassigned"


def test_shipped_markers_valid_and_documented() -> None:
    markers = load_markers()
    assert tuple(markers) == EXPECTED_COMPARTMENTS
    for comp, genes in markers.items():
        assert 6 <= len(genes) <= 15, comp
    # spot-check canonical markers (independent expectation)
    assert {"CD3D", "CD3E", "NKG7"} <= set(markers["T_NK"])
    assert {"CD79A", "MZB1"} <= set(markers["B_plasma"])
    assert {"CD68", "C1QA", "CSF1R"} <= set(markers["myeloid"])
    assert {"TPSAB1", "CPA3"} <= set(markers["mast"])
    assert {"FCGR3B", "CSF3R"} <= set(markers["neutrophil"])
    assert {"COL1A1", "DCN"} <= set(markers["fibroblast"])
    assert {"PECAM1", "VWF", "CDH5"} <= set(markers["endothelial"])
    assert {"EPCAM", "KRT8", "KRT18"} <= set(markers["epithelial"])
    raw = yaml.safe_load((paths.MARKERS_DIR / "compartments.yaml").read_text())
    assert "provenance" in raw
    for comp, entry in raw["compartments"].items():
        assert entry.get("source"), f"{comp} has no source"
    # every gene is a GRCh38 gene symbol
    table = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name"])
    symbols = set(table["gene_name"].astype(str))
    unknown = sorted(g for genes in markers.values() for g in genes if g not in symbols)
    assert not unknown


# --------------------------------------------------------------------------------------
# (c) load_markers validation
# --------------------------------------------------------------------------------------
def _write(path: Path, compartments: dict) -> Path:
    path.write_text(yaml.safe_dump({"provenance": {"x": 1}, "compartments": compartments}))
    return path


def test_load_markers_rejects_gene_in_two_compartments(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "dup.yaml",
        {"T_NK": {"genes": ["CD3D", "PTPRC"]}, "myeloid": {"genes": ["CD68", "PTPRC"]}},
    )
    with pytest.raises(InputError, match="PTPRC") as info:
        load_markers(f)
    assert str(f) in str(info.value)


def test_load_markers_rejects_unknown_compartment(tmp_path: Path) -> None:
    f = _write(tmp_path / "unknown.yaml", {"T_NK": ["CD3D", "CD3E"], "Tcell": ["CD2", "CD7"]})
    with pytest.raises(InputError, match="Tcell") as info:
        load_markers(f)
    assert str(f) in str(info.value)


def test_load_markers_rejects_empty_list(tmp_path: Path) -> None:
    f = _write(tmp_path / "empty.yaml", {"T_NK": {"genes": []}})
    with pytest.raises(InputError, match="non-empty") as info:
        load_markers(f)
    assert str(f) in str(info.value)


def test_load_markers_plain_lists_and_order(tmp_path: Path) -> None:
    f = _write(tmp_path / "ok.yaml", {"myeloid": ["CD68", "CD14"], "T_NK": ["CD3D", "CD3D", "CD2"]})
    assert load_markers(f) == {"T_NK": ["CD3D", "CD2"], "myeloid": ["CD68", "CD14"]}


# --------------------------------------------------------------------------------------
# marker_scores: hand-computed expectation
# --------------------------------------------------------------------------------------
def test_marker_scores_hand_computed() -> None:
    x = np.array(
        [
            [2.0, 4.0, 0.0, 0.0, 1.0],
            [1.0, 0.0, 3.0, 0.0, 1.0],
            [0.0, 2.0, 6.0, 5.0, 1.0],
        ]
    )
    adata = ad.AnnData(
        X=sp.csr_matrix(x),
        obs=pd.DataFrame(index=["c0", "c1", "c2"]),
        var=pd.DataFrame(index=["A", "B", "C", "D", "E"]),
    )
    markers = {"T_NK": ["A", "B", "MISSING"], "myeloid": ["C", "D"], "mast": ["E", "ABSENT"]}
    with pytest.warns(UserWarning, match="mast"):
        got = marker_scores(adata, markers, quantile=1.0)
    # quantile=1 -> each gene scaled by its max: A/2, B/4, C/6, D/5
    expected_t = [(2 / 2 + 4 / 4) / 2, (1 / 2 + 0) / 2, (0 + 2 / 4) / 2]
    expected_m = [0.0, (3 / 6 + 0) / 2, (6 / 6 + 5 / 5) / 2]
    np.testing.assert_allclose(got["T_NK"], expected_t)
    np.testing.assert_allclose(got["myeloid"], expected_m)
    assert got["mast"].isna().all()
    assert list(got.columns) == ["T_NK", "myeloid", "mast"]
    assert got.attrs["unscored"] == ["mast"]
    assert got.attrs["markers_used"]["T_NK"] == ["A", "B"]
    assert got.attrs["markers_missing"]["T_NK"] == ["MISSING"]
    # dense input gives the same result
    dense = adata.copy()
    dense.X = x
    with pytest.warns(UserWarning):
        pd.testing.assert_frame_equal(marker_scores(dense, markers, quantile=1.0), got)


def test_marker_scores_rejects_negative_values() -> None:
    adata = ad.AnnData(X=np.array([[-1.0, 2.0], [1.0, 0.5]]), var=pd.DataFrame(index=["A", "B"]))
    with pytest.raises(InputError, match="negative"):
        marker_scores(adata, {"T_NK": ["A", "B"]})


# --------------------------------------------------------------------------------------
# (a) synthetic planted compartments
# --------------------------------------------------------------------------------------
PLANTED = ("T_NK", "B_plasma", "myeloid", "fibroblast", "endothelial", "epithelial")
N_PER_GROUP = 40


def _synthetic() -> ad.AnnData:
    """6 planted compartments + a doublet-like mix + a marker-less cluster, 40 cells each."""
    rng = np.random.default_rng(20240607)
    markers = load_markers()
    marker_genes = [g for genes in markers.values() for g in genes]
    genes = marker_genes + [f"BG{i:03d}" for i in range(300)]
    is_marker_of = {g: c for c, gs in markers.items() for g in gs}
    groups = [*PLANTED, "mix_T_NK_myeloid", "no_markers"]
    base = np.r_[np.full(len(marker_genes), 0.3), rng.uniform(0.5, 3.0, 300)]
    blocks, labels = [], []
    for group in groups:
        lam = np.tile(base, (N_PER_GROUP, 1))
        planted = {group} if group in PLANTED else set()
        if group == "mix_T_NK_myeloid":
            planted = {"T_NK", "myeloid"}
        cols = [j for j, g in enumerate(genes) if is_marker_of.get(g) in planted]
        lam[:, cols] *= 10.0
        blocks.append(rng.poisson(lam))
        labels += [group] * N_PER_GROUP
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    adata = ad.AnnData(
        X=counts.copy(),
        obs=pd.DataFrame(
            {"leiden": pd.Categorical(labels, categories=groups), "sample": "s1"},
            index=[f"cell{i}" for i in range(len(labels))],
        ),
        var=pd.DataFrame(index=genes),
    )
    adata.layers["counts"] = counts
    # log1p(normalize_total to 1e4), computed by hand
    lib = np.asarray(counts.sum(axis=1)).ravel()
    adata.X = sp.csr_matrix(sp.diags(1e4 / lib) @ counts).log1p()
    return adata


@pytest.fixture(scope="module")
def synthetic_result() -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame]:
    adata = _synthetic()
    cells, clusters = annotate(adata, load_markers())
    return adata, cells, clusters


def test_synthetic_planted_clusters_called(synthetic_result) -> None:
    _, _, clusters = synthetic_result
    by = clusters.set_index("cluster")
    for comp in PLANTED:
        assert by.loc[comp, "compartment"] == comp
        assert by.loc[comp, "confidence"] >= 0.8, comp
        assert by.loc[comp, "agreement"] >= 0.95, comp
        assert by.loc[comp, "n_cells"] == N_PER_GROUP


def test_synthetic_mix_and_markerless_unassigned(synthetic_result) -> None:
    _, cells, clusters = synthetic_result
    by = clusters.set_index("cluster")
    mix = by.loc["mix_T_NK_myeloid"]
    assert mix["compartment"] == UNASSIGNED
    assert {mix["top"], mix["second"]} == {"T_NK", "myeloid"}
    assert mix["margin"] < 0.3
    assert by.loc["no_markers", "compartment"] == UNASSIGNED
    assert by.loc["no_markers", "confidence"] < 0.5
    # calls are propagated to cells
    assert (cells.loc[cells["cluster"] == "no_markers", "compartment"] == UNASSIGNED).all()


def test_synthetic_output_layout(synthetic_result) -> None:
    adata, cells, clusters = synthetic_result
    score_cols = [f"score_{c}" for c in LINEAGES]
    assert list(cells.index) == list(adata.obs_names)
    assert list(cells.columns) == [
        "cluster",
        "compartment",
        "confidence",
        "cell_compartment",
        "cell_confidence",
        *score_cols,
    ]
    for col in ["cluster", "n_cells", "compartment", "confidence", "top", "second", "margin"]:
        assert col in clusters.columns
    assert set(score_cols) <= set(clusters.columns)
    assert list(clusters["cluster"]) == list(adata.obs["leiden"].cat.categories)
    assert cells["confidence"].between(0, 1).all()
    assert cells["cell_confidence"].between(0, 1).all()
    allowed = set(LINEAGES) | {UNASSIGNED}
    assert set(cells["compartment"]) <= allowed
    assert set(cells["cell_compartment"]) <= allowed
    # cell-level calls in planted clusters are mostly right
    planted = cells[cells["cluster"].isin(PLANTED)]
    assert (planted["cell_compartment"] == planted["cluster"]).mean() >= 0.95
    # cluster means equal the mean of the cell scores
    means = cells.groupby("cluster", observed=True)[score_cols].mean()
    np.testing.assert_allclose(
        clusters.set_index("cluster").loc[means.index, score_cols].to_numpy(), means.to_numpy()
    )


def test_synthetic_deterministic_and_layer(synthetic_result) -> None:
    adata, cells, clusters = synthetic_result
    cells2, clusters2 = annotate(adata, load_markers())
    pd.testing.assert_frame_equal(cells, cells2)
    pd.testing.assert_frame_equal(clusters, clusters2)
    # same data supplied through a layer gives the same answer
    other = adata.copy()
    other.layers["lognorm"] = other.X.copy()
    other.X = other.layers["counts"].copy()
    cells3, _ = annotate(other, load_markers(), options=AnnotateOptions(layer="lognorm"))
    pd.testing.assert_frame_equal(cells, cells3)


def test_missing_compartment_markers_warn_and_nan(synthetic_result) -> None:
    adata, _, _ = synthetic_result
    markers = load_markers()
    keep = [g for g in adata.var_names if g not in markers["fibroblast"][1:]]
    sub = adata[:, keep].copy()
    with pytest.warns(UserWarning, match="fibroblast"):
        cells, clusters = annotate(sub, markers)
    assert cells["score_fibroblast"].isna().all()
    assert clusters.set_index("cluster").loc["fibroblast", "compartment"] == UNASSIGNED
    assert clusters.attrs["unscored"] == ["fibroblast"]


def test_annotate_bad_arguments(synthetic_result) -> None:
    adata, _, _ = synthetic_result
    with pytest.raises(ValueError, match="cluster_key"):
        annotate(adata, load_markers(), cluster_key="louvain")
    with pytest.raises(ValueError, match="min_confidence"):
        annotate(adata, load_markers(), options=AnnotateOptions(min_confidence=1.5))
    with pytest.raises(ValueError, match="Unknown compartment"):
        annotate(adata, {"Tcells": ["CD3D", "CD3E"]})


# --------------------------------------------------------------------------------------
# (b) real data: Qian et al. 2020 ovarian cancer, author labels
# --------------------------------------------------------------------------------------
AUTHOR_TO_COMPARTMENT = QIAN_MAP


@pytest.fixture(scope="module")
def qian() -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame]:
    path = paths.DEMO_H5AD
    adata = ad.read_h5ad(path)
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    hvg = adata.copy()
    sc.pp.highly_variable_genes(hvg, n_top_genes=2000)
    hvg = hvg[:, hvg.var["highly_variable"]].copy()
    sc.pp.pca(hvg, n_comps=30, random_state=0)
    sc.pp.neighbors(hvg, n_neighbors=15, random_state=0)
    leiden(hvg, resolution=1.0, seed=0)
    adata.obs["leiden"] = hvg.obs["leiden"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mast/neutrophil genes absent: expected
        cells, clusters = annotate(adata, load_markers())
    return adata, cells, clusters


def test_qian_markers_present(qian) -> None:
    _, cells, _ = qian
    used = cells.attrs["markers_used"]
    for comp in AUTHOR_TO_COMPARTMENT.values():
        assert len(used[comp]) >= 8, (comp, used[comp])


def test_qian_macro_f1(qian) -> None:
    from sklearn.metrics import f1_score

    adata, cells, _ = qian
    truth = adata.obs["cell_type"].astype(str).map(AUTHOR_TO_COMPARTMENT)
    assert truth.notna().all()
    labels = sorted(set(truth))
    f1 = f1_score(truth, cells["compartment"], labels=labels, average="macro")
    unassigned = (cells["compartment"] == UNASSIGNED).mean()
    print(f"Qian ovarian macro-F1 = {f1:.3f}; unassigned fraction = {unassigned:.3f}")
    assert f1 >= 0.85
    assert unassigned < 0.10
    # no compartment absent from the sample (mast, neutrophil) is called for a cluster
    assert not set(cells["compartment"]) & {"mast", "neutrophil"}


def test_annotate_options_defaults_and_checks() -> None:
    opts = AnnotateOptions()
    assert (opts.min_confidence, opts.min_margin, opts.min_score) == (0.5, 0.3, 0.05)
    assert (opts.layer, opts.quantile, opts.min_markers) == (None, 0.9, 2)
    with pytest.raises(ValueError, match=r"min_score must be in \[0, 1\], got -0.1"):
        AnnotateOptions(min_score=-0.1)
