"""Tests for tmesig.cnv (malignant-cell calling from inferred copy number)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import planted_cnv
from sklearn.metrics import f1_score
from tmesig import paths
from tmesig.annotate import gene_set_scores
from tmesig.cnv import CnvOptions, add_gene_positions, call_malignant
from tmesig.io.errors import InputError


@pytest.fixture(scope="module")
def planted() -> tuple[ad.AnnData, np.ndarray, pd.DataFrame]:
    adata, truth = planted_cnv()
    calls = call_malignant(adata, lineage=adata.obs["lineage"], options=CnvOptions(seed=0))
    return adata, truth, calls


def test_add_gene_positions() -> None:
    adata = ad.AnnData(
        np.zeros((1, 200)), var=pd.DataFrame(index=["TP53", "EGFR", *[f"X{i}" for i in range(198)]])
    )
    with pytest.raises(InputError, match="position"):
        add_gene_positions(adata)
    adata, _ = planted_cnv()
    n = add_gene_positions(adata)
    assert n == adata.n_vars
    assert set(adata.var["chromosome"]) <= {f"chr{i}" for i in range(1, 7)}
    assert (adata.var["end"] > adata.var["start"]).all()


def test_planted_tumour_called(planted) -> None:
    adata, truth, calls = planted
    pred = calls["cnv_call"].astype(str).to_numpy() == "malignant"
    assert f1_score(truth, pred) >= 0.9
    # normal epithelium is not malignant; reference cells never are
    normal_epi = (adata.obs["lineage"] == "epithelial").to_numpy() & ~truth
    assert (calls["cnv_call"].astype(str)[normal_epi] == "malignant").mean() <= 0.05
    assert (calls.loc[calls["is_reference"], "cnv_call"].astype(str) == "non-malignant").all()
    # tumour cells are above both thresholds much more than normal epithelium
    assert calls.loc[truth, "cnv_score"].median() > calls.attrs["score_threshold"]
    assert calls.loc[truth, "cnv_corr"].median() > calls.attrs["corr_threshold"]


def test_layout_notes_and_determinism(planted) -> None:
    adata, _, calls = planted
    assert list(calls.columns) == [
        "lineage",
        "is_reference",
        "removed_from_reference",
        "is_heldout_reference",
        "cnv_cluster",
        "cnv_clone",
        "cnv_score",
        "cnv_corr",
        "cnv_call",
        "note",
    ]
    assert set(calls["cnv_call"].astype(str)) <= {"malignant", "non-malignant", "uncertain"}
    assert calls.loc[calls["is_reference"], "note"].str.startswith("reference cell").all()
    assert calls.attrs["n_heldout_reference"] == pytest.approx(
        calls.attrs["n_reference"] / 2, abs=3
    )
    again = call_malignant(adata.copy(), lineage=adata.obs["lineage"], options=CnvOptions(seed=0))
    pd.testing.assert_frame_equal(calls, again)


def test_non_epithelial_needs_strong_evidence(planted) -> None:
    adata, truth, _ = planted
    lineage = adata.obs["lineage"].astype(str).copy()
    # pretend the tumour cells were annotated "unassigned" (not a candidate lineage)
    lineage[truth] = "unassigned"
    calls = call_malignant(
        adata.copy(), lineage=lineage, options=CnvOptions(seed=0, strong_factor=1e6)
    )
    assert (calls.loc[truth, "cnv_call"].astype(str) != "malignant").all()
    assert calls.loc[truth, "note"].str.contains("not a candidate").mean() >= 0.8
    strong = call_malignant(
        adata.copy(), lineage=lineage, options=CnvOptions(seed=0, strong_factor=1.0)
    )
    assert (strong.loc[truth, "cnv_call"].astype(str) == "malignant").mean() >= 0.8
    assert (
        strong.loc[truth & (strong["cnv_call"].astype(str) == "malignant").to_numpy(), "note"]
        .str.contains("strong")
        .all()
    )


def test_too_few_reference_cells(planted) -> None:
    adata, _, _ = planted
    with pytest.raises(InputError, match="reference"):
        call_malignant(adata.copy(), lineage=pd.Series("epithelial", index=adata.obs_names))


def test_tirosh_malignant_f1() -> None:
    adata = ad.read_h5ad(paths.TIROSH2016)
    adata.X = adata.X.copy()
    adata.X.data = np.log1p(adata.X.data / 10.0)
    # normal reference by markers: microglia/macrophages and mature oligodendrocytes
    ref_scores = gene_set_scores(
        adata,
        {
            "myeloid": ["CD14", "C1QA", "C1QB", "CSF1R", "AIF1", "TYROBP", "CD68"],
            "oligo": ["MOG", "MOBP", "MAG", "ERMN", "CLDN11", "OPALIN", "KLK6"],
        },
    )
    reference = (ref_scores >= 0.5).any(axis=1).to_numpy()
    calls = call_malignant(
        adata,
        lineage=pd.Series("unassigned", index=adata.obs_names),
        reference=reference,
        candidates=~reference,
        options=CnvOptions(seed=0),
    )
    truth = adata.obs["cell_type"].astype(str).str.startswith("malignant")
    f1 = f1_score(truth, calls["cnv_call"].astype(str) == "malignant")
    print(f"Tirosh malignant F1 = {f1:.3f}")
    assert f1 >= 0.9


def test_cnv_options_defaults() -> None:
    opts = CnvOptions()
    assert tuple(opts.reference_lineages) == (
        "T_NK",
        "B_plasma",
        "myeloid",
        "endothelial",
        "fibroblast",
    )
    assert tuple(opts.candidate_lineages) == ("epithelial",)
    assert (opts.window_size, opts.step, opts.chunksize, opts.n_jobs) == (100, 10, 2000, 1)
    assert (opts.resolution, opts.seed, opts.min_reference) == (0.5, 0, 10)
    assert (opts.n_mads, opts.min_corr, opts.max_corr) == (3.0, 0.3, 0.5)
    assert (opts.strong_factor, opts.strong_corr, opts.layer) == (1.5, 0.6, None)
