"""The annotation-stage figures (tmesig.report_annotation) on small inputs."""

import anndata as ad
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from tmesig import report, report_annotation
from tmesig.constants import MALIGNANT, UNASSIGNED


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hex(c) -> str:
    return mcolors.to_hex(c)


@pytest.fixture
def embedded(planted) -> ad.AnnData:
    a = planted.copy()
    rng = np.random.default_rng(0)
    a.obsm["X_umap"] = rng.normal(size=(a.n_obs, 2))
    a.obs["lineage"] = np.where(a.obs["group"] == "A", "T_NK", "myeloid")
    a.obs["subset"] = a.obs["group"].map({"A": "CD8_T", "B": "TAM", "C": UNASSIGNED})
    return a


PARENTS = {"CD8_T": "T_NK", "CD4_T": "T_NK", "TAM": "myeloid", "monocyte": "myeloid"}


def _colours(ax) -> dict[str, str]:
    texts = [t.get_text().rsplit(" (", 1)[0] for t in ax.get_legend().get_texts()]
    handles = ax.get_legend().legend_handles
    return {t: _hex(h.get_facecolor()[0]) for t, h in zip(texts, handles, strict=True)}


def test_umap_by_panels_labels_and_one_colour_map(embedded):
    fig = report_annotation.umap_by(
        embedded, keys=("lineage", "absent", "subset", "sample"), parents=PARENTS,
        titles={"subset": "subset (shades)"},
    )  # fmt: skip
    assert [ax.get_title() for ax in fig.axes] == ["lineage", "subset (shades)", "sample"]
    assert all((ax.get_xlabel(), ax.get_ylabel()) == ("UMAP1", "UMAP2") for ax in fig.axes)
    lineage = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert lineage == ["myeloid (120)", "T_NK (60)"]
    # the same lineage has the same colour as in the compartment UMAP of tmesig.report
    single = report.umap_categorical(embedded.obsm["X_umap"], embedded.obs["lineage"], title="t")
    assert _colours(fig.axes[0]) == _colours(single.axes[0])
    assert _colours(fig.axes[0]) == {k: report.PALETTE[k] for k in ("myeloid", "T_NK")}
    subset = _colours(fig.axes[1])
    assert subset[UNASSIGNED] == "#c7c7c7"
    shades = report.state_colors(PARENTS)
    assert subset["CD8_T"] == shades["CD8_T"] and subset["TAM"] == shades["TAM"]
    samples = _colours(fig.axes[2])
    assert len(set(samples.values())) == 3 and "#c7c7c7" not in samples.values()


def test_umap_by_cnv_call_colours(embedded):
    embedded.obs["cnv_call"] = np.resize(["malignant", "non-malignant", "uncertain"], 180)
    fig = report_annotation.umap_by(embedded, keys=("cnv_call",))
    colours = _colours(fig.axes[0])
    assert colours[MALIGNANT] == report.PALETTE[MALIGNANT] == report.CNV_COLORS[MALIGNANT]


def test_umap_by_needs_the_embedding_and_a_key(planted, embedded):
    with pytest.raises(ValueError, match="X_umap"):
        report_annotation.umap_by(planted)
    with pytest.raises(ValueError, match="none of the requested keys"):
        report_annotation.umap_by(embedded, keys=("nope",))


def test_marker_dotplot_shows_present_markers_of_present_groups(planted):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    markers = {"A": ["G0", "G1", "NOPE", "G2"], "B": ["G15"], "Z": ["G40"]}
    fig = report_annotation.marker_dotplot(a, markers=markers, groupby="group", max_genes=2)
    main = [ax for ax in fig.axes if ax.collections and ax.get_xticklabels()][0]
    assert [t.get_text() for t in main.get_xticklabels()] == ["G0", "G1", "G15"]
    assert [t.get_text() for t in main.get_yticklabels()] == ["A", "B", "C"]
    assert any("scaled per gene" in ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match="No marker"):
        report_annotation.marker_dotplot(a, markers={"A": ["NOPE"]}, groupby="group")


def test_confidence_distribution_each_threshold_on_its_own_panel():
    rng = np.random.default_rng(3)
    lineage = pd.Series(rng.uniform(size=50))
    tables = {"lineage": lineage, "subset": pd.Series([*rng.uniform(size=20), np.nan])}
    fig = report_annotation.confidence_distribution(
        tables, thresholds={"lineage": 0.5, "subset": 0.4}
    )
    assert [ax.get_title() for ax in fig.axes] == ["lineage confidence", "subset confidence"]
    assert all(ax.get_xlabel() == "confidence" and ax.get_ylabel() == "cells" for ax in fig.axes)
    assert sum(p.get_height() for p in fig.axes[0].patches) == 50
    assert sum(p.get_height() for p in fig.axes[1].patches) == 20
    for ax, t in zip(fig.axes, (0.5, 0.4), strict=True):
        (line,) = ax.lines
        assert list(line.get_xdata()) == [t, t]
    below = int((lineage < 0.5).sum())
    legend = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert legend == f"threshold 0.5: {below} of 50 cells below"
    only = report_annotation.confidence_distribution(tables, thresholds={"subset": 0.4})
    assert not only.axes[0].lines and len(only.axes[1].lines) == 1


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
    colours = [_hex(c.get_facecolor()[0]) for c in ax.collections]
    assert colours == [report.CNV_COLORS[c] for c in ("malignant", "uncertain", "non-malignant")]
    assert colours[0] == report.PALETTE[MALIGNANT]
    assert [line.get_xdata()[0] for line in ax.lines][0] == 0.4
    assert [line.get_ydata()[0] for line in ax.lines][1] == 0.5


def _cnv_adata(n: int = 40) -> ad.AnnData:
    rng = np.random.default_rng(4)
    a = ad.AnnData(X=np.zeros((n, 5), dtype=np.float32))
    a.obsm["X_cnv"] = sp.csr_matrix(rng.normal(size=(n, 12)))
    a.uns["cnv"] = {"chr_pos": {"chr2": 6, "chr1": 0}}
    a.obs["cnv_call"] = pd.Categorical(np.tile(["malignant", "non-malignant"], n // 2))
    a.obs["lineage"] = np.repeat(["epithelial", "T_NK"], n // 2)
    return a


def test_cnv_heatmap_annotated_by_lineage_call_and_author_label():
    a = _cnv_adata()
    a.obs["author_label"] = np.repeat(["Tumour", "T cell"], 20)
    fig = report_annotation.cnv_heatmap(a, max_cells=10)
    bars = [ax for ax in fig.axes if [t.get_text() for t in ax.get_xticklabels()][:1]
            in (["lineage"], ["CNV call"], ["author label"])]  # fmt: skip
    assert [ax.get_xticklabels()[0].get_text() for ax in bars] == [
        "lineage", "CNV call", "author label",
    ]  # fmt: skip
    lineage_codes = bars[0].images[0].get_array().ravel()
    assert lineage_codes.shape == (10,)
    assert list(lineage_codes) == sorted(lineage_codes)  # rows sorted by lineage
    heat = [ax for ax in fig.axes if ax.images and ax not in bars and ax.get_xlabel()][0]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["1", "2"]
    assert heat.images[0].get_array().shape == (10, 12)
    legends = {
        lg.get_title().get_text(): [t.get_text() for t in lg.get_texts()] for lg in fig.legends
    }
    assert legends["lineage"] == ["epithelial", "T_NK"] or legends["lineage"] == [
        "T_NK",
        "epithelial",
    ]
    assert set(legends["author label"]) == {"Tumour", "T cell"}
    assert any("copy number" in ax.get_ylabel() for ax in fig.axes)  # colour bar labelled
    # lineage colours as everywhere else
    colours = {
        p.get_label(): _hex(p.get_facecolor()) for lg in fig.legends for p in lg.get_patches()
    }
    assert colours["T_NK"] == report.PALETTE["T_NK"]


def test_cnv_heatmap_skips_missing_annotations_and_needs_cnv_results():
    fig = report_annotation.cnv_heatmap(_cnv_adata())
    assert {lg.get_title().get_text() for lg in fig.legends} == {"lineage", "CNV call"}
    a = _cnv_adata()
    del a.obsm["X_cnv"]
    with pytest.raises(ValueError, match="call_malignant"):
        report_annotation.cnv_heatmap(a)
    with pytest.raises(ValueError, match="call_malignant"):
        report_annotation.cnv_heatmap(_cnv_adata(), annotations=("nope",))
