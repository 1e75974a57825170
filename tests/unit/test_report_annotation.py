"""The annotation-stage figures (tmesig.report_annotation) on small inputs."""

import anndata as ad
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from tmesig import report_annotation


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def embedded(planted) -> ad.AnnData:
    a = planted.copy()
    rng = np.random.default_rng(0)
    a.obsm["X_umap"] = rng.normal(size=(a.n_obs, 2))
    a.obs["lineage"] = np.where(a.obs["group"] == "A", "T_NK", "myeloid")
    a.obs["subset"] = a.obs["group"].map({"A": "CD8_T", "B": "TAM", "C": "monocyte"})
    return a


def test_umap_by_one_panel_per_present_key(embedded):
    fig = report_annotation.umap_by(embedded, keys=("lineage", "absent", "subset"))
    assert [ax.get_title() for ax in fig.axes] == ["lineage", "subset"]
    lineage = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert lineage == ["T_NK (60)", "myeloid (120)"]
    subset = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert subset == ["CD8_T (60)", "TAM (60)", "monocyte (60)"]
    for ax in fig.axes:
        colours = [mcolors.to_hex(c.get_facecolor()[0]) for c in ax.collections]
        assert len(set(colours)) == len(colours)  # one colour per category


def test_umap_by_needs_the_embedding(planted):
    with pytest.raises(ValueError, match="X_umap"):
        report_annotation.umap_by(planted)


def test_marker_dotplot_shows_present_markers_of_present_groups(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    markers = {"A": ["G0", "G1", "NOPE", "G2"], "B": ["G15"], "Z": ["G40"]}
    fig = report_annotation.marker_dotplot(a, markers=markers, groupby="group", max_genes=2)
    main = [ax for ax in fig.axes if ax.collections and ax.get_xticklabels()][0]
    assert [t.get_text() for t in main.get_xticklabels()] == ["G0", "G1", "G15"]
    assert [t.get_text() for t in main.get_yticklabels()] == ["A", "B", "C"]
    with pytest.raises(ValueError, match="No marker"):
        report_annotation.marker_dotplot(a, markers={"A": ["NOPE"]}, groupby="group")


def test_confidence_distribution_panels_and_threshold():
    rng = np.random.default_rng(3)
    tables = {
        "lineage": pd.Series(rng.uniform(size=50)),
        "subset": pd.Series([*rng.uniform(size=20), np.nan]),
    }
    fig = report_annotation.confidence_distribution(tables, threshold=0.5)
    assert [ax.get_title() for ax in fig.axes] == ["lineage confidence", "subset confidence"]
    assert all(ax.get_xlabel() == "confidence" for ax in fig.axes)
    assert fig.axes[0].get_ylabel() == "cells"
    assert sum(p.get_height() for p in fig.axes[0].patches) == 50
    assert sum(p.get_height() for p in fig.axes[1].patches) == 20
    for ax in fig.axes:
        (line,) = ax.lines
        assert list(line.get_xdata()) == [0.5, 0.5]


def test_cnv_scatter_colours_labels_and_thresholds():
    calls = pd.DataFrame(
        {
            "cnv_score": [0.1, 0.2, 0.5, 0.6, 0.3],
            "cnv_corr": [0.1, 0.2, 0.8, 0.9, 0.4],
            "cnv_call": ["non-malignant", "non-malignant", "malignant", "malignant", "uncertain"],
        }
    )
    calls.attrs.update(score_threshold=0.4, corr_threshold=0.5)
    fig = report_annotation.cnv_scatter(calls)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "CNV score (mean |CNV|)"
    assert ax.get_ylabel() == "correlation with CNV-cluster profile"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["malignant (2)", "uncertain (1)", "non-malignant (2)"]
    colours = [mcolors.to_hex(c.get_facecolor()[0]) for c in ax.collections]
    assert colours == [mcolors.to_hex(c) for c in ("crimson", "orange", "0.6")]
    assert [line.get_xdata()[0] for line in ax.lines][0] == 0.4
    assert [line.get_ydata()[0] for line in ax.lines][1] == 0.5


def _cnv_adata(n: int = 40) -> ad.AnnData:
    rng = np.random.default_rng(4)
    a = ad.AnnData(X=np.zeros((n, 5), dtype=np.float32))
    a.obsm["X_cnv"] = sp.csr_matrix(rng.normal(size=(n, 12)))
    a.uns["cnv"] = {"chr_pos": {"chr1": 0, "chr2": 6}}
    a.obs["cnv_call"] = pd.Categorical(np.repeat(["malignant", "non-malignant"], n // 2))
    return a


def test_cnv_heatmap_groups_rows_and_subsamples():
    fig = report_annotation.cnv_heatmap(_cnv_adata(), max_cells=10)
    assert "cnv_call" in [ax.get_ylabel() for ax in fig.axes]
    assert any(ax.images for ax in fig.axes)


def test_cnv_heatmap_needs_cnv_results():
    a = _cnv_adata()
    del a.obsm["X_cnv"]
    with pytest.raises(ValueError, match="call_malignant"):
        report_annotation.cnv_heatmap(a)
    with pytest.raises(ValueError, match="cnv_cluster"):
        report_annotation.cnv_heatmap(_cnv_adata(), groupby="cnv_cluster")
