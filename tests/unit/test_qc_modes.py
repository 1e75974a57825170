"""QC in the normalised and panel input modes, and rules whose MAD is 0."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import planted_counts
from tmesig import qc
from tmesig.io import InputError


def _cp10k(counts: sp.spmatrix) -> sp.csr_matrix:
    x = sp.csr_matrix(counts, dtype=np.float64)
    return sp.csr_matrix(sp.diags(1e4 / np.asarray(x.sum(axis=1)).ravel()) @ x)


def test_constant_totals_never_threshold_with_mad_0():
    """Un-logged CP10k taken as counts: two thirds of the cells share one total bit for bit,
    the others differ from it by float rounding only."""
    a = planted_counts(n_per_group=100, n_genes=400, samples=("s1",))
    x = _cp10k(a.layers["counts"]).toarray()
    x[:200] = x[0]  # identical rows: identical totals
    a.X = sp.csr_matrix(x)
    a.layers["counts"] = a.X.copy()
    log_tot = np.log1p(x.sum(axis=1))
    assert np.allclose(x.sum(axis=1), 1e4, rtol=1e-12)
    lo, hi = qc.mad_bounds(log_tot, nmads=5)
    naive_cut = int(np.sum((log_tot < lo) | (log_tot > hi)))
    assert lo == hi and naive_cut >= 5  # a rule at median ± 5·0 cuts by float rounding
    kept, metrics, summary = qc.run_qc(a, options=qc.QcOptions(min_genes=10, doublets=False))
    assert summary.loc[0, "count_filter"].startswith("skipped: MAD 0 (")
    assert np.isnan(summary.loc[0, "min_total_counts"]) and summary.loc[0, "n_low_counts"] == 0
    assert summary.loc[0, "n_high_counts"] == 0
    assert metrics["kept"].all() and kept.n_obs == a.n_obs


def test_mito_mad_0_uses_the_ceiling_only():
    a = planted_counts(n_per_group=50, n_genes=300, samples=("s1",))
    a.var_names = ["MT-CO1", *a.var_names[1:]]
    c = a.layers["counts"].toarray().astype(np.float64)
    c[:, 0] = c[:, 1:].sum(axis=1) / 4  # exactly 20% mitochondrial everywhere
    c[:3, 0] = c[:3, 1:].sum(axis=1)  # three cells at 50%
    a.layers["counts"] = sp.csr_matrix(c)
    a.X = a.layers["counts"].copy()
    _, metrics, summary = qc.run_qc(a, options=qc.QcOptions(min_genes=10, doublets=False))
    assert np.allclose(metrics["pct_mito"].iloc[3:], 20.0)
    assert summary.loc[0, "mito_filter"].endswith("ceiling qc.max_pct_mito only")
    assert summary.loc[0, "max_pct_mito"] == 25.0
    assert set(metrics.index[~metrics["kept"]]) == {"c0", "c1", "c2"}


def test_normalised_input_uses_genes_and_mito_share_only():
    a = planted_counts(n_per_group=80, n_genes=300, samples=("s1", "s2"))
    a.var_names = ["MT-CO1", "MT-ND1", *a.var_names[2:]]
    counts = a.layers["counts"].toarray()
    counts[:3, :2] = 500  # three high-mito cells
    lognorm = _cp10k(counts)
    lognorm.data = np.log1p(lognorm.data)
    b = ad.AnnData(X=lognorm.astype(np.float32), obs=a.obs.copy(), var=a.var.copy())
    opts = qc.QcOptions(min_genes=10, input_mode="normalised")  # doublets on: skipped anyway
    kept, metrics, summary = qc.run_qc(b, options=opts)
    # independent reference: genes detected and % mitochondrial from the counts
    assert (metrics["n_genes"].to_numpy() == (counts > 0).sum(axis=1)).all()
    ref_pct = 100 * counts[:, :2].sum(axis=1) / counts.sum(axis=1)
    assert np.allclose(metrics["pct_mito"], ref_pct, rtol=1e-4)
    assert metrics["total_counts"].isna().all() and metrics["doublet_score"].isna().all()
    assert (summary["input_mode"] == "normalised").all()
    assert summary["count_filter"].str.startswith("skipped: input normalised").all()
    assert summary["doublets"].str.startswith("skipped: input normalised").all()
    # removed: above the per-sample cut median + 3 MAD (floor 5%, ceiling 25%), by hand
    want = set()
    for sample in ("s1", "s2"):
        sel = (a.obs["sample"] == sample).to_numpy()
        med = np.median(ref_pct[sel])
        cut = min(max(med + 3 * np.median(np.abs(ref_pct[sel] - med)), 5.0), 25.0)
        want |= set(a.obs_names[sel & (ref_pct > cut)])
    assert {"c0", "c1", "c2"} <= want
    assert set(metrics.index[~metrics["kept"]]) == want
    assert "counts" not in kept.layers and kept.n_obs == a.n_obs - len(want)


def test_panel_scales_min_genes_and_skips_doublets():
    """400 genes, ~40 detected per cell: the whole-transcriptome floor of 200 would remove all."""
    rng = np.random.default_rng(1)
    x = rng.poisson(0.12, size=(300, 400)).astype(np.float32)
    x[:4] = 0
    x[:4, :5] = 3  # four cells detecting 5 genes: under the panel floor
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=[f"G{i}" for i in range(400)]))
    a.obs_names = [f"c{i}" for i in range(300)]
    a.obs["sample"] = "s1"
    a.layers["counts"] = a.X.copy()
    genes = (x > 0).sum(axis=1)
    assert np.median(genes) < 60 and (genes[4:] >= 8).all()
    counts_opts = qc.QcOptions(nmads=50, doublets=True)
    with pytest.raises(InputError, match="QC removed every cell"):
        qc.run_qc(a, options=counts_opts)
    opts = qc.QcOptions(nmads=50, doublets=True, input_mode="panel")
    assert opts.min_genes_floor(400) == 8  # ceil(0.02 * 400)
    assert qc.QcOptions(min_genes=5, input_mode="panel").min_genes_floor(400) == 5
    kept, metrics, summary = qc.run_qc(a, options=opts)
    assert summary.loc[0, "min_genes_floor"] == 8
    assert summary.loc[0, "doublets"] == "skipped: targeted panel (qc.panel_doublets is false)"
    assert set(metrics.index[~metrics["kept"]]) == {"c0", "c1", "c2", "c3"}
    assert (metrics.loc[["c0", "c1", "c2", "c3"], "removed_reason"] == "below_min_genes").all()
