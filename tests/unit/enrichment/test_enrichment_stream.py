"""tmesig.enrichment: the streamed t-tests equal scanpy's rank_genes_groups float for float."""

import anndata as ad
import numba
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from conftest import planted_counts
from tmesig import enrichment
from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place, read_expression
from tmesig.io.write import write_h5ad_deterministic

GROUPS = ("T_NK", "myeloid", "B", "unassigned", "tiny")


def _cells(seed=0):
    """Planted counts, 4 groups of unequal size plus a 5-cell group and unassigned cells."""
    a = planted_counts(n_per_group=40, groups=GROUPS[:4], n_genes=120, seed=seed)
    rng = np.random.default_rng(seed)
    labels = np.array(GROUPS)[rng.choice(5, size=a.n_obs, p=[0.36, 0.26, 0.2, 0.18, 0.0])]
    labels[:5] = "tiny"  # below min_cells: neither group nor rest
    a.obs["compartment"] = labels
    off = sp.diags((np.arange(a.n_vars) < 100).astype(np.float32))
    a.X = sp.csr_matrix(a.X @ off)  # genes 100+ never expressed: NaN scores, 0 in scanpy (ties)
    a.X.eliminate_zeros()
    return a


def _stored_file(tmp_path, a):
    """A clustered.h5ad as the cluster stage writes it: stored counts, size factors, and the
    log-normalised in-memory AnnData scanpy would rank."""
    counts = sp.csr_matrix(a.X, dtype=np.float32)
    mem = ad.AnnData(X=counts.copy(), obs=a.obs[["compartment"]].copy(), var=a.var.copy())
    normalise_in_place(mem, mode="counts")
    stored = mem.copy()
    stored.X = counts
    stored.uns[EXPRESSION_KEY] = {**stored.uns[EXPRESSION_KEY], "x": "stored"}
    path = tmp_path / "clustered.h5ad"
    write_h5ad_deterministic(stored, path)
    return path, mem


def _scanpy(mem, method, min_cells=10):
    """scanpy's own result on the kept groups (the reference)."""
    labels = mem.obs["compartment"].astype(str)
    sizes = labels.value_counts()
    groups = sorted(g for g, n in sizes.items() if g != "unassigned" and n >= min_cells)
    keep = labels.isin(groups).to_numpy()
    sub = ad.AnnData(X=mem.X[keep], obs=pd.DataFrame({"g": pd.Categorical(labels[keep])}))
    sub.var_names = mem.var_names
    sc.tl.rank_genes_groups(sub, "g", method=method, use_raw=False, n_genes=sub.n_vars)
    return groups, {g: sc.get.rank_genes_groups_df(sub, group=g) for g in groups}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("method", ["t-test", "t-test_overestim_var"])
@pytest.mark.parametrize("chunk", [7, 10_000])
def test_streamed_scores_equal_scanpy_exactly(tmp_path, method, chunk, threads):
    a = _cells()
    path, mem = _stored_file(tmp_path, a)
    saved = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        groups, ref = _scanpy(mem, method)
        backed = read_expression(path, backed=True)
        labels = backed.obs["compartment"].astype(str)
        codes = pd.Categorical(labels, categories=groups).codes
        moments = enrichment.group_moments(backed, codes, n_groups=len(groups), chunk_size=chunk)
        opts = enrichment.RankOptions(method=method, chunk_size=chunk)
        ranked = enrichment.rank_genes_chunked(backed, labels, options=opts)
    finally:
        numba.set_num_threads(saved)
    assert groups == ["B", "T_NK", "myeloid"]
    for i, g in enumerate(groups):
        table = enrichment.welch_table(moments, i, method=method)
        want = ref[g]
        names = backed.var_names[table.index]
        assert list(names) == list(want["names"])  # scanpy's gene order, ties included
        np.testing.assert_array_equal(table["scores"].astype(np.float32), want["scores"])
        np.testing.assert_array_equal(table["pvals"], want["pvals"])
        np.testing.assert_array_equal(
            table["logfoldchanges"].astype(np.float32), want["logfoldchanges"]
        )
        # the ranking prerank receives: the in-memory scanpy ranking, index order included
        old = enrichment.rank_genes(mem, groupby="compartment", method=method)[g]
        pd.testing.assert_series_equal(ranked[g], old)
        assert list(ranked[g].index) == list(old.index)


def test_group_moments_equal_numpy_mean_and_variance():
    a = _cells(seed=3)
    x = np.log1p(a.X.toarray().astype(np.float64))
    a.X = sp.csr_matrix(x)
    labels = a.obs["compartment"].to_numpy()
    groups = ["B", "T_NK", "myeloid"]
    codes = pd.Categorical(labels, categories=groups).codes
    m = enrichment.group_moments(a, codes, n_groups=3, chunk_size=11)
    grouped = np.isin(labels, groups)
    for i, g in enumerate(groups):
        inside, rest = x[labels == g], x[grouped & (labels != g)]
        assert m.n[i] == len(inside) and m.n_rest[i] == len(rest)
        np.testing.assert_allclose(m.mean[i], inside.mean(0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(m.var[i], inside.var(0, ddof=1), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.mean_rest[i], rest.mean(0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(m.var_rest[i], rest.var(0, ddof=1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["wilcoxon", "logreg"])
def test_in_memory_methods_below_the_cap_are_scanpy_on_every_cell(tmp_path, method):
    a = _cells(seed=1)
    path, mem = _stored_file(tmp_path, a)
    backed = read_expression(path, backed=True)
    labels = backed.obs["compartment"].astype(str)
    got = enrichment.rank_genes_chunked(
        backed, labels, options=enrichment.RankOptions(method=method, max_cells=10_000)
    )
    want = enrichment.rank_genes(mem, groupby="compartment", method=method)
    assert list(got) == list(want)
    for g in want:
        pd.testing.assert_series_equal(got[g], want[g])


def test_capped_rows_keep_each_groups_share():
    # 9,000 A, 900 B, 100 C cells; cap 2,000: shares 1,800 / 180 / 20, floors 1,000
    labels = pd.Series(np.repeat(["A", "B", "C", "unassigned"], [9_000, 900, 100, 500]))
    rng = np.random.default_rng(0)
    labels = labels.iloc[rng.permutation(len(labels))].reset_index(drop=True)
    rows = enrichment.capped_rows(labels, ["A", "B", "C"], max_cells=2_000, seed=4)
    assert np.all(np.diff(rows) > 0)
    counts = labels.iloc[rows].value_counts()
    assert counts.to_dict() == {"A": 1_800, "B": 900, "C": 100}  # B, C: kept whole (floor)
    again = enrichment.capped_rows(labels, ["A", "B", "C"], max_cells=2_000, seed=4)
    np.testing.assert_array_equal(rows, again)
    small = enrichment.capped_rows(labels, ["B", "C"], max_cells=2_000, seed=4)
    np.testing.assert_array_equal(small, np.flatnonzero(labels.isin(["B", "C"])))


def test_wilcoxon_above_the_cap_ranks_the_sample(tmp_path):
    a = _cells(seed=2)
    a.obs["compartment"] = a.obs["group"]  # the planted groups, 40 cells each
    path, mem = _stored_file(tmp_path, a)
    backed = read_expression(path, backed=True)
    labels = backed.obs["compartment"].astype(str)
    groups = ["B", "T_NK", "myeloid"]
    opts = enrichment.RankOptions(method="wilcoxon", max_cells=60, group_floor=15, seed=5)
    got = enrichment.rank_genes_chunked(backed, labels, options=opts)
    rows = enrichment.capped_rows(
        labels.reset_index(drop=True), groups, max_cells=60, seed=5, floor=15
    )
    assert len(rows) == 60 and labels.iloc[rows].value_counts().to_dict() == dict.fromkeys(
        groups, 20
    )
    want = enrichment.rank_genes(mem[rows].copy(), groupby="compartment", method="wilcoxon")
    assert list(got) == groups
    for g in groups:
        pd.testing.assert_series_equal(got[g], want[g])
    # planted markers still lead: group B (third planted group) over-expresses G30-G44
    assert set(got["B"].index[:10]) <= {f"G{i}" for i in range(30, 45)}
