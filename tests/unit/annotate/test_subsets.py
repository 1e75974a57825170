"""Tests for tmesig.subsets (second-level annotation)."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
import yaml
from tmesig import paths
from tmesig.annotate import annotate, load_markers
from tmesig.constants import LINEAGES, MALIGNANT, UNASSIGNED
from tmesig.io.errors import InputError
from tmesig.subsets import (
    OTHER_NORMAL_EPITHELIUM,
    SubsetOptions,
    annotate_subsets,
    load_subset_markers,
    merge_malignant,
)


# --------------------------------------------------------------------------------------
# Marker file
# --------------------------------------------------------------------------------------
def test_shipped_subset_markers_valid() -> None:
    m = load_subset_markers()
    names = set(m.names)
    expected = {
        "CD8_effector_memory",
        "CD8_exhausted",
        "CD4_conventional",
        "Treg",
        "NK",
        "MAIT",
        "B_cell",
        "plasma_cell",
        "classical_monocyte",
        "macrophage",
        "cDC1",
        "cDC2",
        "pDC",
        "CAF",
        "normal_fibroblast",
        "tumour_endothelium",
        "alveolar_epithelium",
    }
    assert expected <= names
    assert {s.lineage for s in m.subsets} <= set(LINEAGES)
    assert m.ancestors("Treg") == ["Treg", "CD4_T"]
    assert m.ancestors("CD8_exhausted") == ["CD8_exhausted", "CD8_T"]
    assert [a.name for a in m.axes] == ["macrophage_M2_minus_M1"]
    # canonical genes (independent expectation)
    by = {s.name: s for s in m.subsets}
    assert {"FOXP3", "IL2RA"} <= set(by["Treg"].genes)
    assert {"CLEC9A", "XCR1"} <= set(by["cDC1"].genes)
    assert {"LILRA4", "CLEC4C"} <= set(by["pDC"].genes)
    assert {"CD3D", "CD3E"} <= set(by["NK"].negative)
    table = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name"])
    symbols = set(table["gene_name"].astype(str))
    genes = {g for s in m.subsets for g in (*s.genes, *s.negative)}
    genes |= {g for a in m.axes for g in (*a.positive, *a.negative)}
    assert not sorted(genes - symbols)
    raw = yaml.safe_load((paths.MARKERS_DIR / "subsets.yaml").read_text())
    assert "provenance" in raw


def _write(tmp: Path, lineages: dict) -> Path:
    f = tmp / "s.yaml"
    f.write_text(yaml.safe_dump({"lineages": lineages}))
    return f


def test_load_subset_markers_errors(tmp_path: Path) -> None:
    ok = {"genes": ["A", "B"], "source": "x"}
    with pytest.raises(InputError, match="unknown lineage") as info:
        load_subset_markers(_write(tmp_path, {"Tcells": {"x": ok}}))
    assert str(tmp_path) in str(info.value)
    with pytest.raises(InputError, match="parent"):
        load_subset_markers(_write(tmp_path, {"T_NK": {"x": {**ok, "parent": "nope"}}}))
    with pytest.raises(InputError, match="source"):
        load_subset_markers(_write(tmp_path, {"T_NK": {"x": {"genes": ["A"]}}}))
    with pytest.raises(InputError, match="unique"):
        load_subset_markers(_write(tmp_path, {"T_NK": {"x": ok}, "myeloid": {"x": ok}}))
    with pytest.raises(InputError, match="non-empty"):
        load_subset_markers(_write(tmp_path, {"T_NK": {"x": {"genes": [], "source": "s"}}}))


# --------------------------------------------------------------------------------------
# Planted subsets: each planted population is called as its subset
# --------------------------------------------------------------------------------------
PLANTED = {
    # lineage, subset -> planted genes come from the shipped YAML
    "CD8_exhausted": "T_NK",
    "CD8_effector_memory": "T_NK",
    "Treg": "T_NK",
    "CD4_conventional": "T_NK",
    "NK": "T_NK",
    "macrophage": "myeloid",
    "classical_monocyte": "myeloid",
    "cDC1": "myeloid",
    "CAF": "fibroblast",
    "normal_fibroblast": "fibroblast",
}
N = 40


@pytest.fixture(scope="module")
def planted() -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    m = load_subset_markers()
    lineage_markers = load_markers()
    by = {s.name: s for s in m.subsets}
    genes = sorted(
        {g for s in m.subsets for g in (*s.genes, *s.negative)}
        | {g for gs in lineage_markers.values() for g in gs}
        | {g for a in m.axes for g in (*a.positive, *a.negative)}
    ) + [f"BG{i}" for i in range(200)]
    col = {g: j for j, g in enumerate(genes)}
    base = np.r_[np.full(len(genes) - 200, 0.2), rng.uniform(0.5, 3, 200)]
    blocks, truth = [], []
    for name, lin in PLANTED.items():
        lam = np.tile(base, (N, 1))
        up = set(lineage_markers[lin]) | set(by[name].genes)
        parent = by[name].parent
        if parent:
            up |= set(by[parent].genes)
        up -= set(by[name].negative)  # NK cells do not express CD3 (independent biology)
        if lin == "myeloid" and name == "macrophage":
            # half M2-like, half M1-like macrophages (planted axis)
            axis = m.axes[0]
            lam[: N // 2, [col[g] for g in axis.positive]] = 3.0
            lam[N // 2 :, [col[g] for g in axis.negative]] = 3.0
        lam[:, [col[g] for g in up]] = 4.0
        blocks.append(rng.poisson(lam))
        truth += [name] * N
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    lib = np.asarray(counts.sum(axis=1)).ravel()
    adata = ad.AnnData(
        X=sp.csr_matrix(sp.diags(1e4 / lib) @ counts).log1p(),
        obs=pd.DataFrame({"truth": truth}, index=[f"c{i}" for i in range(len(truth))]),
        var=pd.DataFrame(index=genes),
    )
    lineage = pd.Series([PLANTED[t] for t in truth], index=adata.obs_names)
    cells, clusters = annotate_subsets(
        adata, lineage, options=SubsetOptions(resolution=1.0, seed=0)
    )
    return adata, cells, clusters, lineage


def test_planted_subsets_cluster_and_cell(planted) -> None:
    adata, cells, _, _ = planted
    truth = adata.obs["truth"]
    acc = (cells["subset"] == truth).groupby(truth).mean()
    cell_acc = (cells["cell_subset"] == truth).groupby(truth).mean()
    assert (acc >= 0.9).all(), acc.to_dict()
    assert (cell_acc >= 0.8).all(), cell_acc.to_dict()
    assert cells["subset_confidence"].between(0, 1).all()
    ok = cells["subset"] == truth
    assert cells.loc[ok, "subset_confidence"].median() >= 0.5


def test_planted_m1m2_axis(planted) -> None:
    adata, cells, _, _ = planted
    axis = cells["axis_macrophage_M2_minus_M1"]
    mac = np.flatnonzero(adata.obs["truth"].to_numpy() == "macrophage")
    m2, m1 = mac[: N // 2], mac[N // 2 :]
    assert (axis.iloc[m2] > 0).mean() >= 0.9
    assert (axis.iloc[m1] < 0).mean() >= 0.9
    assert axis[adata.obs["truth"] != "macrophage"].isna().all()


def test_planted_layout_and_determinism(planted) -> None:
    adata, cells, clusters, lineage = planted
    names = load_subset_markers().names
    assert list(cells.index) == list(adata.obs_names)
    assert list(cells.columns[:7]) == [
        "lineage",
        "subcluster",
        "subset",
        "subset_confidence",
        "subset_root",
        "cell_subset",
        "cell_subset_confidence",
    ]
    assert {f"score_{s}" for s in names} <= set(cells.columns)
    assert clusters["n_cells"].sum() == adata.n_obs
    cells2, clusters2 = annotate_subsets(
        adata, lineage, options=SubsetOptions(resolution=1.0, seed=0)
    )
    pd.testing.assert_frame_equal(cells, cells2)
    pd.testing.assert_frame_equal(clusters, clusters2)


def test_unassigned_lineage_and_merge(planted) -> None:
    adata, cells, _, lineage = planted
    lin = lineage.copy()
    lin.iloc[:5] = UNASSIGNED
    lin.iloc[5:10] = "epithelial"
    got, _ = annotate_subsets(adata, lin, options=SubsetOptions(min_cells_subcluster=1000))
    assert (got["subset"].iloc[:5] == UNASSIGNED).all()
    cnv = pd.DataFrame(
        {
            "cnv_call": ["malignant"] * 2
            + ["non-malignant"] * 8
            + ["non-malignant"] * (adata.n_obs - 10)
        },
        index=adata.obs_names,
    )
    final = merge_malignant(got, cnv)
    assert (final.iloc[:2] == MALIGNANT).all()
    epi = got["lineage"].iloc[5:10].eq("epithelial") & got["subset"].iloc[5:10].eq(UNASSIGNED)
    assert (final.iloc[5:10][epi] == OTHER_NORMAL_EPITHELIUM).all()


# --------------------------------------------------------------------------------------
# Wu et al. 2020: CD8 vs CD4 from per-cell subset calls (author labels)
# --------------------------------------------------------------------------------------
def test_wu_cd8_vs_cd4_per_cell() -> None:
    adata = ad.read_h5ad(paths.WU2020_TCELLS)
    adata.var_names_make_unique()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    lineage = pd.Series("T_NK", index=adata.obs_names)  # all T cells (authors)
    cells, _ = annotate_subsets(adata, lineage, options=SubsetOptions(seed=0))
    m = load_subset_markers()
    prefix = adata.obs["cluster_orig"].astype(str).str.split(".").str[0]
    keep = prefix.isin(["4", "8"])
    truth = prefix[keep].map({"4": "CD4_T", "8": "CD8_T"})
    root = cells.loc[keep, "cell_subset"].map(
        lambda s: m.ancestors(s)[-1] if s != UNASSIGNED else s
    )
    acc = float((root == truth).mean())
    called = root.isin(["CD4_T", "CD8_T"])
    acc_called = float((root[called] == truth[called]).mean())
    print(f"Wu CD8 vs CD4 per cell: accuracy {acc:.3f}, among calls {acc_called:.3f}")
    # Regression floors at the measured level with identity-gene seeds + label spreading
    # (0.843 accuracy with unassigned counted wrong, 0.925 among CD4/CD8 calls, 7.3%
    # unassigned; hard-clamped propagation before: 0.806 / 0.837 / 2%).
    assert acc >= 0.82
    assert acc_called >= 0.90
    assert called.mean() >= 0.88
    assert (root == UNASSIGNED).mean() <= 0.10


# --------------------------------------------------------------------------------------
# CD8 vs CD4 per cell: identity genes + kNN propagation (planted dropout)
# --------------------------------------------------------------------------------------
def test_identity_propagation_planted() -> None:
    """CD4 cells with a cytotoxic program; CD8 / CD4 genes detected in only 30% of cells.

    Each population has its own state genes (the kNN structure); identity genes are
    planted in a random 30% of its cells. The plain per-cell call is misled by the
    cytotoxic genes of the CD4 cells; propagation over the kNN graph recovers the labels.
    """
    rng = np.random.default_rng(3)
    m = load_subset_markers()
    by = {s.name: s for s in m.subsets}
    lineage_markers = load_markers()
    state8, state4 = [f"S8_{i}" for i in range(30)], [f"S4_{i}" for i in range(30)]
    genes = (
        sorted(
            {
                g
                for s in m.subsets
                if s.lineage == "T_NK"
                for g in (*s.genes, *s.negative, *s.identity)
            }
            | set(lineage_markers["T_NK"])
        )
        + state8
        + state4
        + [f"BG{i}" for i in range(200)]
    )
    col = {g: j for j, g in enumerate(genes)}
    n_each = 80
    roots = ("CD8_T", "CD4_T")
    cytotoxic = [g for g in by["CD8_T"].genes if g not in by["CD8_T"].identity]
    blocks, truth = [], []
    for name, state in (("CD8_T", state8), ("CD4_T", state4)):
        lam = np.full((n_each, len(genes)), 0.05)
        lam[:, -200:] = rng.uniform(0.5, 3, 200)
        lam[:, [col[g] for g in lineage_markers["T_NK"]]] = 4.0
        lam[:, [col[g] for g in cytotoxic]] = 4.0  # both: CD4 Trm-like cytotoxic cells
        lam[:, [col[g] for g in state]] = 4.0
        x = rng.poisson(lam).astype(float)
        ident = [col[g] for r in roots for g in by[r].identity if g in col]
        x[:, ident] = 0.0  # identity genes are specific; dropout ...
        ident = [col[g] for g in by[name].identity if g in col]
        carriers = rng.random(n_each) < 0.3  # ... except in 30% of the cells
        x[np.ix_(carriers, ident)] = rng.poisson(3.0, size=(int(carriers.sum()), len(ident)))
        blocks.append(x)
        truth += [name] * n_each
    counts = np.vstack(blocks)
    lib = counts.sum(axis=1, keepdims=True)
    adata = ad.AnnData(
        X=sp.csr_matrix(np.log1p(counts / lib * 1e4).astype(np.float32)),
        var=pd.DataFrame(index=genes),
    )
    truth = pd.Series(truth, index=adata.obs_names)
    lineage = pd.Series("T_NK", index=adata.obs_names)

    def root_call(cells: pd.DataFrame) -> pd.Series:
        return cells["cell_subset"].map(lambda s: m.ancestors(s)[-1] if s != UNASSIGNED else s)

    cells, _ = annotate_subsets(adata, lineage, options=SubsetOptions(seed=0))
    got = root_call(cells)
    assert (got == truth).mean() >= 0.95
    assert got.isin(set(roots)).mean() >= 0.97
    src = cells["cell_subset_source"]
    assert set(src) <= {"identity", "identity_overridden", "propagated", "markers", ""}
    assert 0.15 <= (src == "identity").mean() <= 0.45  # the 30% carriers
    assert (got[src == "propagated"] == truth[src == "propagated"]).mean() >= 0.95
    assert cells["cell_subset_confidence"].between(0, 1).all()
    # without propagation the cytotoxic CD4 cells are not recovered per cell
    plain, _ = annotate_subsets(adata, lineage, options=SubsetOptions(seed=0, propagate=False))
    plain_root = root_call(plain)
    assert (plain_root[truth == "CD4_T"] == "CD4_T").mean() <= 0.6
    # deterministic
    again, _ = annotate_subsets(adata, lineage, options=SubsetOptions(seed=0))
    pd.testing.assert_frame_equal(cells, again)


def test_annotate_then_subsets_on_lineage_output() -> None:
    """annotate() output plugs into annotate_subsets (tiny smoke)."""
    rng = np.random.default_rng(0)
    markers = load_markers()
    genes = markers["T_NK"] + markers["myeloid"] + [f"BG{i}" for i in range(50)]
    x = rng.poisson(0.3, size=(60, len(genes))).astype(float)
    x[:30, : len(markers["T_NK"])] += 5
    x[30:, len(markers["T_NK"]) : len(markers["T_NK"]) + len(markers["myeloid"])] += 5
    adata = ad.AnnData(X=np.log1p(x), var=pd.DataFrame(index=genes))
    adata.obs["leiden"] = pd.Categorical(["a"] * 30 + ["b"] * 30)
    cells, _ = annotate(adata, {k: markers[k] for k in ("T_NK", "myeloid")})
    subs, _ = annotate_subsets(adata, cells["compartment"])
    assert list(subs["lineage"][:30].unique()) == ["T_NK"]


def test_subset_options_defaults_and_checks() -> None:
    opts = SubsetOptions()
    assert (opts.resolution, opts.seed, opts.n_neighbors, opts.n_top_genes) == (1.0, 0, 15, 1500)
    assert (opts.min_confidence, opts.min_margin, opts.min_score) == (0.4, 0.2, 0.2)
    assert (opts.min_cell_margin, opts.min_cell_score, opts.min_cells_subcluster) == (0.2, 0.1, 30)
    assert (opts.quantile, opts.min_markers, opts.min_fraction) == (0.9, 2, 0.4)
    assert opts.propagate and opts.balance_propagation
    assert (opts.min_identity_margin, opts.propagation_alpha, opts.layer) == (0.5, 0.99, None)
    with pytest.raises(ValueError, match=r"min_cell_score must be in \[0, 1\], got 2"):
        SubsetOptions(min_cell_score=2)
    with pytest.raises(ValueError, match=r"propagation_alpha must be in \[0, 1\), got 1.0"):
        SubsetOptions(propagation_alpha=1.0)
