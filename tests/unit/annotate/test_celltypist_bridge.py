"""Tests for tmesig.celltypist_bridge: agreement tables, author labels, CellTypist."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from conftest import DEMO, train_celltypist_model
from tmesig.celltypist_bridge import (
    NO_AUTHOR_LABELS,
    NO_CELLTYPIST_MODEL,
    agreement_table,
    author_agreement,
    celltypist_agreement,
    labels_from_column,
    note_table,
    run_celltypist,
    with_author_labels,
)
from tmesig.constants import UNASSIGNED
from tmesig.io.errors import InputError


# --------------------------------------------------------------------------------------
# agreement_table / labels_from_column / celltypist
# --------------------------------------------------------------------------------------
def test_agreement_table_hand_counts() -> None:
    idx = [f"c{i}" for i in range(6)]
    ours = pd.Series(["T_NK", "T_NK", "myeloid", "myeloid", UNASSIGNED, "B_plasma"], index=idx)
    theirs = pd.Series(["T cell", "T cell", "Macro", "T cell", "Macro", "Plasma"], index=idx)
    mapping = {"T cell": "T_NK", "Macro": "myeloid"}  # Plasma unmapped -> not compared
    table, frac = agreement_table(ours, theirs, mapping=mapping)
    # compared c0..c4: agree c0, c1, c2 -> 3 / 5
    assert frac == pytest.approx(3 / 5)
    assert table.attrs["n_compared"] == 5
    assert table.loc["T_NK", "T cell"] == 2
    assert table.loc["myeloid", "T cell"] == 1
    assert table.loc["All", "All"] == 6
    # identical vocabularies, no mapping
    _, frac2 = agreement_table(ours, ours)
    assert frac2 == pytest.approx(1.0)
    with pytest.raises(ValueError, match="share no cell"):
        agreement_table(ours, pd.Series(["x"], index=["zz"]))


def test_labels_from_column() -> None:
    adata = ad.AnnData(
        X=np.zeros((4, 2)),
        obs=pd.DataFrame({"ct": ["T_cell", "Macrophage", "Weird", None]}, index=list("abcd")),
    )
    got = labels_from_column(adata, "ct", mapping={"T_cell": "T_NK", "Macrophage": "myeloid"})
    assert list(got["compartment"]) == ["T_NK", "myeloid", UNASSIGNED, UNASSIGNED]
    assert list(got["confidence"]) == [1.0, 1.0, 0.0, 0.0]
    raw = labels_from_column(adata, "ct")
    assert list(raw["compartment"][:3]) == ["T_cell", "Macrophage", "Weird"]
    with pytest.raises(ValueError, match="nope"):
        labels_from_column(adata, "nope")


def test_run_celltypist_missing_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="never downloads"):
        run_celltypist(ad.AnnData(np.zeros((2, 2))), model_path=tmp_path / "none.pkl")


def test_run_celltypist_trained_model(tmp_path: Path) -> None:
    """A model trained offline on half of the Qian cells predicts the other half's author labels."""
    adata = ad.read_h5ad(DEMO)
    order = np.random.default_rng(0).permutation(adata.n_obs)
    train, test = adata[np.sort(order[:2000])].copy(), adata[np.sort(order[2000:2600])].copy()
    model = train_celltypist_model(train, "cell_type", tmp_path / "qian.pkl")
    sc.pp.normalize_total(test, target_sum=1e4)
    sc.pp.log1p(test)
    got = run_celltypist(test, model_path=model, cache_dir=tmp_path / "ct")
    assert list(got.columns) == ["celltypist_label", "celltypist_confidence"]
    assert got.index.equals(test.obs_names)
    truth = test.obs["cell_type"].astype(str)
    assert (got["celltypist_label"] == truth).mean() >= 0.9  # held-out author labels
    assert got["celltypist_confidence"].between(0, 1).all()
    # majority voting over given clusters: one label per cluster
    test.obs["leiden"] = truth.astype("category")  # clusters = author labels: votes are pure
    voted = run_celltypist(test, model_path=model, majority_voting=True, over_clustering="leiden")
    assert (
        voted.groupby(test.obs["leiden"], observed=True)["celltypist_label"].nunique() == 1
    ).all()
    # counts instead of log1p(CP10k): a clear error naming the model file
    raw = adata[:50].copy()
    with pytest.raises(InputError, match="qian.pkl"):
        run_celltypist(raw, model_path=model)


def test_run_celltypist_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "model.pkl"
    bad.write_text("not a pickle")
    with pytest.raises(InputError, match=r"model\.pkl could not be read"):
        run_celltypist(ad.AnnData(np.zeros((2, 2))), model_path=bad)


# --------------------------------------------------------------------------------------
# The annotate stage's comparisons: author labels, note tables
# --------------------------------------------------------------------------------------
def _cells_and_data() -> tuple[pd.DataFrame, ad.AnnData]:
    idx = list("abcd")
    cells = pd.DataFrame(
        {
            "source": "tmesig markers",
            "compartment": ["T_NK", "myeloid", "T_NK", UNASSIGNED],
            "confidence": [0.9, 0.8, 0.7, 0.0],
        },
        index=idx,
    )
    obs = pd.DataFrame({"orig_ct": ["T_cell", "Macrophage", "Macrophage", "Weird"]}, index=idx)
    return cells, ad.AnnData(X=np.zeros((4, 2)), obs=obs)


def test_note_table() -> None:
    table = note_table(NO_AUTHOR_LABELS)
    assert list(table.columns) == ["note"]
    assert table["note"].tolist() == [NO_AUTHOR_LABELS]
    assert "label_col" in NO_AUTHOR_LABELS
    assert "celltypist_model" in NO_CELLTYPIST_MODEL


def test_author_agreement_beside_ours() -> None:
    cells, adata = _cells_and_data()
    mapping = {"T_cell": "T_NK", "Macrophage": "myeloid"}
    got, table, fraction = author_agreement(cells, adata, "ct", mapping=mapping)
    assert fraction == pytest.approx(2 / 3)  # d ("Weird") is not compared
    assert table.loc["All", "All"] == 4
    assert got["author_label"].tolist() == ["T_cell", "Macrophage", "Macrophage", "Weird"]
    pd.testing.assert_frame_equal(got.drop(columns="author_label"), cells)
    assert "author_label" not in cells.columns  # the input is not modified


def test_author_agreement_use_author_labels() -> None:
    cells, adata = _cells_and_data()
    mapping = {"T_cell": "T_NK", "Macrophage": "myeloid"}
    got, _, _ = author_agreement(cells, adata, "ct", mapping=mapping, use_author_labels=True)
    assert got["compartment"].tolist() == ["T_NK", "myeloid", "myeloid", UNASSIGNED]
    assert got["confidence"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert got["tmesig_compartment"].tolist() == cells["compartment"].tolist()
    assert (got["source"] == "author labels (ct)").all()
    swapped = with_author_labels(
        cells, labels_from_column(adata, "orig_ct", mapping=mapping), label_col="ct"
    )
    assert "tmesig_compartment" not in swapped.columns


def test_author_agreement_missing_column() -> None:
    cells, adata = _cells_and_data()
    with pytest.raises(InputError, match=r"^data\.h5ad: the sample sheet's label_col 'cell_type'"):
        author_agreement(cells, adata, "cell_type", dataset="data.h5ad")


def test_celltypist_agreement_compares_tmesig_calls(tmp_path: Path) -> None:
    adata = ad.read_h5ad(DEMO)
    order = np.random.default_rng(1).permutation(adata.n_obs)
    model = train_celltypist_model(adata[order[:1500]].copy(), "cell_type", tmp_path / "m.pkl")
    test = adata[np.sort(order[1500:1800])].copy()
    sc.pp.normalize_total(test, target_sum=1e4)
    sc.pp.log1p(test)
    cells = pd.DataFrame(
        {"compartment": "epithelial", "tmesig_compartment": "T_NK"}, index=test.obs_names
    )
    got, table, fraction = celltypist_agreement(
        cells, test, model_path=model, mapping={"T_cell": "T_NK"}
    )
    assert list(got.columns) == [
        "compartment",
        "tmesig_compartment",
        "celltypist_label",
        "celltypist_confidence",
    ]
    assert list(table.index) == ["T_NK", "All"]  # ours = tmesig_compartment when present
    n_t = int((got["celltypist_label"] == "T_cell").sum())
    assert table.attrs["n_compared"] == n_t
    assert fraction == pytest.approx(1.0) if n_t else np.isnan(fraction)
