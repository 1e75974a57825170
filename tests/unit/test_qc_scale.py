"""QC at scale: chunked metrics on a backed file, per-sample doublet parts, tables applied later."""

import dataclasses
import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import planted_counts
from tmesig import qc
from tmesig.io import InputError


def _x_only(tmp_path, a, record=None):
    """Write ``a`` in the one-matrix layout (X only, no counts layer) and open it backed."""
    b = ad.AnnData(X=a.layers["counts"].copy(), obs=a.obs.copy(), var=a.var.copy())
    if record is not None:
        b.uns["tmesig_ingest"] = json.dumps(record)
    path = tmp_path / "ingested.h5ad"
    b.write_h5ad(path)
    return ad.read_h5ad(path, backed="r")


def test_metrics_read_in_chunks_from_a_backed_file_match_a_hand_count(tmp_path):
    a = planted_counts(n_per_group=40, n_genes=120, samples=("s1", "s2"))
    a.var_names = ["MT-CO1", *a.var_names[1:]]
    backed = _x_only(tmp_path, a)
    m = qc.qc_metrics(backed, chunk_size=7)  # 120 cells in 18 chunks, the last partial
    x = a.layers["counts"].toarray().astype(np.float64)
    assert np.array_equal(m["n_genes"].to_numpy(), (x > 0).sum(1))
    assert np.allclose(m["total_counts"], x.sum(1))
    assert np.allclose(m["pct_mito"], 100 * x[:, 0] / x.sum(1))
    assert m.index.equals(a.obs_names)
    backed.file.close()


def test_tables_of_a_backed_file_equal_those_in_memory(tmp_path):
    a = planted_counts(n_per_group=50, n_genes=200, samples=("s1", "s2"))
    x = a.layers["counts"].tolil()
    x[:2] = 0  # two empty cells: removed for low counts / genes
    a.layers["counts"] = x.tocsr()
    opts = qc.QcOptions(min_genes=5, min_cells_doublets=10, chunk_size=13)
    mem_m, mem_s = qc.qc_tables(a, options=opts)
    backed = _x_only(tmp_path, a)
    m, s = qc.qc_tables(backed, options=opts)
    backed.file.close()
    pd.testing.assert_frame_equal(m, mem_m)
    pd.testing.assert_frame_equal(s, mem_s)
    assert not m.loc[["c0", "c1"], "kept"].any() and (s["doublets"] == "applied").all()


def test_removed_reason_joins_every_reason_in_order():
    r = qc._thresholds.Reasons(4)
    r.add(np.array([True, False, True, False]), "high_mito")
    r.add(np.array([True, True, False, False]), "low_counts")
    r.add(np.array([False, False, True, False]), "doublet")
    assert list(r.labels()) == ["low_counts;high_mito", "low_counts", "high_mito;doublet", ""]
    assert list(r.removed()) == [True, True, True, False]


def test_split_rows_parts_cover_the_sample_once_and_are_deterministic():
    rows = np.arange(5, 1005, 2)  # 500 cells
    parts = qc.split_rows(rows, max_cells=120, seed=3)
    assert len(parts) == 5 and sorted(len(p) for p in parts) == [100] * 5
    assert np.array_equal(np.sort(np.concatenate(parts)), rows)
    assert all(np.array_equal(p, np.sort(p)) for p in parts)
    again = qc.split_rows(rows, max_cells=120, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(parts, again, strict=True))
    assert len(qc.split_rows(rows, max_cells=500, seed=3)) == 1


def test_a_sample_above_the_cap_is_screened_in_parts():
    a = planted_counts(n_per_group=100, n_genes=300, samples=("s1",))
    opts = qc.QcOptions(min_genes=1, nmads=50, doublet_max_cells=150, min_cells_doublets=10)
    m, s = qc.qc_tables(a, options=opts)
    assert s.loc[0, "doublets"] == "applied in 2 random parts of <= 150"
    assert m["doublet_score"].notna().all()  # every cell scored in its part
    whole, _ = qc.qc_tables(a, options=qc.QcOptions(min_genes=1, nmads=50, min_cells_doublets=10))
    assert whole["doublet_score"].notna().all()
    assert not np.allclose(whole["doublet_score"], m["doublet_score"])


def test_apply_qc_on_all_cells_or_on_the_kept_cells_only():
    a = planted_counts(n_per_group=30, n_genes=100, samples=("s1", "s2"))
    x = a.layers["counts"].tolil()
    x[:, 99] = 0
    x[0, 99] = x[1, 99] = 4  # G99 detected in 2 cells only
    a.layers["counts"] = x.tocsr()
    a.X = a.layers["counts"].copy()
    metrics, _ = qc.qc_tables(a, options=qc.QcOptions(min_genes=1, doublets=False))
    metrics.loc[["c2", "c3"], "kept"] = False
    full = qc.apply_qc(a, metrics, min_cells_per_gene=2)
    only_kept = qc.apply_qc(a[metrics["kept"].to_numpy()].copy(), metrics, min_cells_per_gene=2)
    assert full.n_obs == 88 and "c2" not in full.obs_names
    assert (
        "G99" in full.var_names
        and "G99" not in qc.apply_qc(a, metrics, min_cells_per_gene=3).var_names
    )
    assert full.obs_names.equals(only_kept.obs_names) and full.var_names.equals(only_kept.var_names)
    assert np.allclose(full.obs["total_counts"], np.asarray(full.layers["counts"].sum(1)).ravel())
    metrics["kept"] = False
    with pytest.raises(InputError, match="QC removed every cell"):
        qc.apply_qc(a, metrics, min_cells_per_gene=2)


@pytest.mark.parametrize(
    ("record", "requested", "want"),
    [
        ({"input_mode": "counts", "genes": 5000}, "auto", "counts"),
        ({"input_mode": "counts", "genes": 300}, "auto", "panel"),
        ({"input_mode": "counts", "genes": 300}, "counts", "counts"),
        ({"input_mode": "counts", "genes": 5000}, "normalised", "counts"),
        ({"input_mode": "panel", "genes": 5000}, "auto", "panel"),
        ({"input_mode": "normalised", "genes": 5000}, "counts", "normalised"),
    ],
)
def test_input_mode_without_a_counts_layer_follows_the_ingest_record(record, requested, want):
    a = ad.AnnData(X=sp.csr_matrix(np.ones((3, 4), dtype=np.float32)))
    a.uns["tmesig_ingest"] = json.dumps(record)
    assert qc.qc_input_mode(a, requested=requested) == want
    with pytest.raises(ValueError, match="not one of"):
        qc.qc_input_mode(a, requested="log")


def test_read_input_mode_from_the_summary(tmp_path):
    path = tmp_path / "qc_summary.tsv"
    pd.DataFrame({"sample": ["a", "b"], "input_mode": ["normalised"] * 2}).to_csv(
        path, sep="\t", index=False
    )
    assert qc.read_input_mode(path) == "normalised"
    pd.DataFrame({"sample": ["a"], "cells_in": [3]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match="no single input mode"):
        qc.read_input_mode(path)
    with pytest.raises(InputError, match="found \\['counts', 'panel'\\]"):
        qc.read_input_mode(pd.DataFrame({"input_mode": ["counts", "panel"]}))


def test_parts_in_worker_processes_score_as_one_after_the_other(tmp_path, monkeypatch):
    a = planted_counts(n_per_group=100, n_genes=300, samples=("s1", "s2"))
    opts = qc.QcOptions(min_genes=1, min_cells_doublets=10, doublet_max_cells=100)
    mem_m, mem_s = qc.qc_tables(a, options=opts)  # in memory: always one part after the other
    monkeypatch.setattr(qc._doublets, "PARALLEL_MIN_CELLS", 0)
    backed = _x_only(tmp_path, a)
    calls = []
    real = qc._doublets._part_from_file
    monkeypatch.setattr(
        qc._doublets, "_part_from_file", lambda *args: calls.append(1) or real(*args)
    )
    m, s = qc.qc_tables(backed, options=dataclasses.replace(opts, n_jobs=2))
    backed.file.close()
    assert not calls  # the tasks ran in the workers, not here
    pd.testing.assert_frame_equal(m, mem_m)
    pd.testing.assert_frame_equal(s, mem_s)
    assert s["doublets"].str.startswith("applied in").all()  # several parts per sample
    assert m["doublet_score"].notna().all()


def test_a_part_where_scrublet_finds_no_threshold_calls_no_doublets_and_says_so(monkeypatch):
    """scrublet's automatic threshold (skimage's minimum between two modes) can fail on a
    part whose simulated scores are not bimodal: scanpy then warns, stores no threshold and
    calls nothing. Seen on a 15,000-cell part of the 1,000,000-cell benchmark."""
    import skimage.filters

    a = planted_counts(n_per_group=100, n_genes=300, samples=("s1",))
    opts = qc.QcOptions(min_genes=1, nmads=50, doublet_max_cells=150, min_cells_doublets=10)
    normal, s0 = qc.qc_tables(a, options=opts)
    real, calls = skimage.filters.threshold_minimum, []

    def second_part_fails(image=None, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("Unable to find two maxima in histogram")
        return real(image, *args, **kwargs)

    monkeypatch.setattr(skimage.filters, "threshold_minimum", second_part_fails)
    m, s = qc.qc_tables(a, options=opts)
    assert len(calls) == 2  # one threshold per part
    status = "applied in 2 random parts of <= 150; 1 part(s) without a threshold"
    assert s.loc[0, "doublets"].startswith(status)
    # the same scores; the first part's calls as before, none in the second
    assert np.allclose(m["doublet_score"], normal["doublet_score"])
    parts = qc.split_rows(np.arange(a.n_obs), max_cells=150, seed=opts.seed)
    assert m["predicted_doublet"].to_numpy()[parts[1]].sum() == 0
    same = (
        m["predicted_doublet"].to_numpy()[parts[0]]
        == normal["predicted_doublet"].to_numpy()[parts[0]]
    )
    assert same.all()
    assert np.isfinite(s.loc[0, "doublet_threshold"])  # the part that had one

    calls.clear()
    monkeypatch.setattr(skimage.filters, "threshold_minimum", lambda *a, **k: 1 / 0)
    m, s = qc.qc_tables(a, options=opts)
    assert s.loc[0, "doublets"].startswith("scored, not applied")
    assert not m["predicted_doublet"].any() and np.isnan(s.loc[0, "doublet_threshold"])
