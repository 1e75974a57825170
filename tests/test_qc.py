import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tmesig import qc


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
    kept, metrics, summary = qc.run_qc(a, nmads=5, min_genes=3, doublets=False)
    removed = set(metrics.index[~metrics["kept"]])
    planted = {"c0", "c1", "c2", "c150", "c151", "c160", "c161", "c162"}
    assert removed == planted
    assert all("high_mito" in metrics.loc[c, "removed_reason"] for c in ("c160", "c161", "c162"))
    assert "low_counts" in metrics.loc["c0", "removed_reason"]
    assert kept.n_obs == 300 - len(planted)
    s = summary.set_index("sample")
    assert s.loc["deep", "min_total_counts"] > s.loc["shallow", "min_total_counts"]
    # hand check of one threshold: median - 5 MAD of log1p(total counts) among 'shallow'
    tot = np.log1p(x[:150].sum(1))
    med = np.median(tot)
    mad = np.median(np.abs(tot - med))
    assert np.isclose(s.loc["shallow", "min_total_counts"], np.expm1(med - 5 * mad))
    assert s.loc["shallow", "cells_removed"] == 3 and s.loc["deep", "n_high_mito"] == 3


def test_no_mito_genes_is_reported_not_guessed(planted):
    _, metrics, summary = qc.run_qc(planted, min_genes=1, doublets=False)
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
    _, metrics, summary = qc.run_qc(b, min_genes=1, nmads=50, doublets=True, seed=0)
    planted_score = metrics["doublet_score"].iloc[-30:].mean()
    single_score = metrics["doublet_score"].iloc[:-30].mean()
    assert planted_score > 2 * single_score
    assert summary.loc[0, "doublets"] == "applied"
