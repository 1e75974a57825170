import dataclasses

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import qc
from tmesig.io import InputError


def test_mad_bounds_by_hand():
    v = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, absolute deviations 2,1,0,1,97 -> MAD 1
    assert qc.mad_bounds(v, nmads=2) == (1.0, 5.0)


def _sample(rng, n, depth, n_genes=1996):
    lam = rng.gamma(0.5, 2.0, size=n_genes) * depth / n_genes
    x = rng.poisson(np.tile(lam, (n, 1)) * rng.uniform(0.8, 1.2, size=(n, 1))).astype(np.float32)
    return x


def test_per_sample_thresholds_remove_planted_outliers_only():
    rng = np.random.default_rng(0)
    # sample "deep" is sequenced 5x deeper: a global threshold would cut one sample or the other
    shallow = _sample(rng, 150, 1500)
    deep = _sample(rng, 150, 6000)
    shallow[:3] = np.floor(shallow[:3] / 20)  # planted low-count cells
    deep[:2] *= 0  # empty droplets
    deep[:2, :5] = 1
    x = np.vstack([shallow, deep])
    genes = [f"G{i}" for i in range(1992)] + ["MT-CO1", "MT-ND1", "MT-CYB", "MT-ATP6"]
    x[150 + 10 : 150 + 13, -4:] = 2000  # planted high-mito cells in deep
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(300)]
    a.obs["sample"] = ["shallow"] * 150 + ["deep"] * 150
    a.layers["counts"] = a.X.copy()
    kept, metrics, summary = qc.run_qc(
        a, options=qc.QcOptions(nmads=5, min_genes=3, doublets=False)
    )
    removed = set(metrics.index[~metrics["kept"]])
    planted = {"c0", "c1", "c2", "c150", "c151", "c160", "c161", "c162"}
    assert removed == planted
    assert all("high_mito" in metrics.loc[c, "removed_reason"] for c in ("c160", "c161", "c162"))
    assert "low_counts" in metrics.loc["c0", "removed_reason"]
    assert kept.n_obs == 300 - len(planted)
    s = summary.set_index("sample")
    assert s.loc["deep", "min_total_counts"] > s.loc["shallow", "min_total_counts"]
    # hand check of one threshold: median - 5 MAD of log1p(total counts) among the 'shallow'
    # cells above the genes floor (min_genes=3)
    tot = np.log1p(x[:150].sum(1))[(x[:150] > 0).sum(1) >= 3]
    med = np.median(tot)
    mad = np.median(np.abs(tot - med))
    assert np.isclose(s.loc["shallow", "min_total_counts"], np.expm1(med - 5 * mad))
    assert s.loc["shallow", "cells_removed"] == 3 and s.loc["deep", "n_high_mito"] == 3


def test_a_sample_of_mostly_dead_cells_keeps_its_real_cells():
    """60 % of a sample are dead cells (mitochondrial only) and empty droplets: the bounds are
    taken on the other cells, which were all removed as 'high_genes' when the junk set them."""
    rng = np.random.default_rng(1)
    x = np.vstack([_sample(rng, 40, 3000), np.zeros((60, 1996), dtype=np.float32)])
    mt = rng.poisson(30, size=(100, 4)).astype(np.float32)
    mt[40:50] = 0  # empty
    mt[50:] *= 20  # dead: every count mitochondrial
    genes = [f"G{i}" for i in range(1996)] + ["MT-CO1", "MT-ND1", "MT-CYB", "MT-ATP6"]
    a = ad.AnnData(X=sp.csr_matrix(np.hstack([x, mt])), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(100)]
    a.obs["sample"] = "s1"
    _, metrics, _ = qc.run_qc(a, options=qc.QcOptions(min_genes=200, doublets=False))
    assert metrics["kept"].to_numpy()[:40].sum() >= 38 and not metrics["kept"].to_numpy()[40:].any()


def test_no_mito_genes_is_reported_not_guessed(planted):
    _, metrics, summary = qc.run_qc(planted, options=qc.QcOptions(min_genes=1, doublets=False))
    assert metrics["pct_mito"].isna().all()
    assert summary["mito_filter"].str.startswith("skipped").all()


def test_scrublet_scores_planted_doublets_higher():
    from conftest import planted_counts

    a = planted_counts(
        n_per_group=150, groups=("A", "B", "C", "D"), n_genes=400, n_markers=40, samples=("s1",)
    )
    x = a.layers["counts"].toarray()
    rng = np.random.default_rng(1)
    i = rng.choice(np.flatnonzero(a.obs["group"] == "A"), 30)
    j = rng.choice(np.flatnonzero(a.obs["group"] == "C"), 30)
    dbl = x[i] + x[j]
    b = ad.AnnData(X=sp.csr_matrix(np.vstack([x, dbl])), var=a.var[[]])
    b.obs_names = [f"c{k}" for k in range(b.n_obs)]
    b.obs["sample"] = "s1"
    b.layers["counts"] = b.X.copy()
    _, metrics, summary = qc.run_qc(
        b, options=qc.QcOptions(min_genes=1, nmads=50, doublets=True, seed=0)
    )
    planted_score = metrics["doublet_score"].iloc[-30:].mean()
    single_score = metrics["doublet_score"].iloc[:-30].mean()
    assert planted_score > 2 * single_score
    assert summary.loc[0, "doublets"] == "applied"


def test_options_from_config_and_defaults():
    section = {
        "nmads": 4,
        "nmads_mito": 2,
        "max_pct_mito": 20,
        "min_pct_mito": 3,
        "min_genes": 100,
        "min_cells_per_gene": 2,
        "doublets": False,
        "min_cells_doublets": 50,
        "seed": 7,
        "panel_min_genes_fraction": 0.05,
        "panel_doublets": True,
        "unrelated": "ignored",
    }
    opts = qc.QcOptions.from_config(section)
    assert dataclasses.asdict(opts) == {
        **{k: v for k, v in section.items() if k != "unrelated"},
        "doublet_max_cells": 10_000,
        "chunk_size": 20_000,
        "sample_key": "sample",
        "input_mode": "counts",
        "panel_genes": 0,
        "n_jobs": 1,
    }
    capped = qc.QcOptions.from_config({**section, "doublet_max_cells": 500, "chunk_size": 64})
    assert (capped.doublet_max_cells, capped.chunk_size) == (500, 64)
    default = qc.QcOptions()
    assert (default.nmads, default.nmads_mito, default.max_pct_mito, default.min_pct_mito) == (
        5.0,
        3.0,
        25.0,
        5.0,
    )
    assert (default.min_genes, default.min_cells_per_gene, default.doublets) == (200, 3, True)
    assert (default.min_cells_doublets, default.seed) == (100, 0)
    with pytest.raises(KeyError):
        qc.QcOptions.from_config({"nmads": 5})


def test_small_samples_skip_doublets_and_sample_key(planted):
    a = planted.copy()
    a.obs["batch"] = a.obs.pop("sample")
    opts = qc.QcOptions(min_genes=1, min_cells_doublets=1_000, sample_key="batch")
    _, metrics, summary = qc.run_qc(a, options=opts)
    assert set(summary["sample"]) == {"s1", "s2", "s3"}
    assert summary["doublets"].str.startswith("skipped: 60 cells < 1000").all()
    assert metrics["doublet_score"].isna().all() and not metrics["predicted_doublet"].any()
    assert list(summary.columns[-7:]) == [
        "n_low_counts",
        "n_high_counts",
        "n_low_genes",
        "n_high_genes",
        "n_below_min_genes",
        "n_high_mito",
        "n_doublet",
    ]


def test_every_cell_removed_is_an_input_error(planted):
    with pytest.raises(InputError, match="QC removed every cell"):
        qc.run_qc(planted, options=qc.QcOptions(min_genes=10_000, doublets=False))
