"""QC doublet screening split into jobs and joined: the tables of the unsplit QC, exactly."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import planted_counts
from tmesig import qc
from tmesig.io import InputError
from tmesig.score import ScatterOptions


def _backed(tmp_path, a):
    b = ad.AnnData(X=a.layers["counts"].copy(), obs=a.obs.copy(), var=a.var.copy())
    path = tmp_path / "ingested.h5ad"
    b.write_h5ad(path)
    return ad.read_h5ad(path, backed="r")


@pytest.fixture
def cohort():
    """Four samples of 90 cells and one of 9 (too small to screen)."""
    a = planted_counts(n_per_group=120, n_genes=250, samples=("s1", "s2", "s3", "s4"))
    sample = a.obs["sample"].astype(str).to_numpy().copy()
    sample[:9] = "tiny"
    sample[9:] = np.resize(np.array(["s1", "s2", "s3", "s4"]), len(sample) - 9)
    a.obs["sample"] = sample
    return a


OPTS = qc.QcOptions(min_genes=1, min_cells_doublets=20, doublet_max_cells=60)


def test_plan_packs_every_screened_part_into_jobs_of_at_most_chunk_cells(cohort):
    plan = qc.doublet_plan(cohort.obs["sample"], options=OPTS, scatter=ScatterOptions(10, 100))
    # hand count: 351 cells of s1..s4 (88/88/88/87) -> 2 parts each of <= 60; "tiny" (9) skipped
    assert plan["sample"].tolist() == ["s1"] * 2 + ["s2"] * 2 + ["s3"] * 2 + ["s4"] * 2
    assert plan["part"].tolist() == list(range(8))
    assert plan.groupby("sample")["n_cells"].sum().to_dict() == {
        "s1": 88,
        "s2": 88,
        "s3": 88,
        "s4": 87,
    }
    # parts of 43-44 cells packed in order: a third part would pass 100, so a job per sample
    assert plan.groupby("job")["n_cells"].sum().tolist() == [88, 88, 88, 87]
    wide = qc.doublet_plan(cohort.obs["sample"], options=OPTS, scatter=ScatterOptions(10, 180))
    assert wide.groupby("job")["n_cells"].sum().tolist() == [176, 175]
    assert plan["job"].is_monotonic_increasing


def test_no_plan_below_min_cells_or_without_doublets(cohort):
    samples = cohort.obs["sample"]
    assert qc.doublet_plan(samples, options=OPTS, scatter=ScatterOptions(1000, 100)).empty
    normalised = qc.QcOptions(input_mode="normalised")
    assert qc.doublet_plan(samples, options=normalised, scatter=ScatterOptions(10, 100)).empty
    off = qc.QcOptions(doublets=False)
    assert qc.doublet_plan(samples, options=off, scatter=ScatterOptions(10, 100)).empty


def test_jobs_joined_give_the_tables_of_the_unsplit_qc(cohort, tmp_path):
    whole_m, whole_s = qc.qc_tables(cohort, options=OPTS)
    backed = _backed(tmp_path, cohort)
    plan = qc.doublet_plan(backed.obs["sample"], options=OPTS, scatter=ScatterOptions(10, 100))
    path = tmp_path / "plan.tsv"
    plan.to_csv(path, sep="\t", index=False)
    plan = qc.read_doublet_plan(path)
    jobs = [qc.screen_job(backed, plan, j, options=OPTS) for j in reversed(plan["job"].unique())]
    done = qc.gather_doublets(jobs, plan=plan)
    m, s = qc.qc_tables(backed, options=OPTS, doublets=done)
    backed.file.close()
    pd.testing.assert_frame_equal(m, whole_m)
    pd.testing.assert_frame_equal(s, whole_s)
    assert whole_s.set_index("sample").loc["tiny", "doublets"].startswith("skipped")
    assert m["doublet_score"].notna().sum() == 351


def test_a_missing_job_or_a_stale_plan_is_refused(cohort, tmp_path):
    backed = _backed(tmp_path, cohort)
    plan = qc.doublet_plan(backed.obs["sample"], options=OPTS, scatter=ScatterOptions(10, 100))
    jobs = [qc.screen_job(backed, plan, j, options=OPTS) for j in plan["job"].unique()]
    with pytest.raises(InputError, match="part .* missing"):
        qc.gather_doublets(jobs[1:], plan=plan)
    with pytest.raises(InputError, match="no job 99"):
        qc.screen_job(backed, plan, 99, options=OPTS)
    other = qc.QcOptions(min_genes=1, min_cells_doublets=20, doublet_max_cells=30)
    with pytest.raises(InputError, match="does not match the ingested cells"):
        qc.screen_job(backed, plan, 0, options=other)
    # parts screened for other cells (a reordered table) are not used
    done = qc.gather_doublets(jobs, plan=plan)
    swapped = [done[1], done[0], *done[2:]]
    with pytest.raises(InputError, match="do not match"):
        qc.qc_tables(backed, options=OPTS, doublets=swapped)
    backed.file.close()


def test_doublet_jobs_bounded_by_max_jobs(monkeypatch, cohort):
    import importlib

    monkeypatch.setattr(importlib.import_module("tmesig.score._scatter"), "MAX_JOBS", 2)
    plan = qc.doublet_plan(cohort.obs["sample"], options=OPTS, scatter=ScatterOptions(10, 1))
    # 360 cells in at most 2 jobs: blocks raised to 180 cells (as chunk_cells 180 packs them)
    assert plan.groupby("job")["n_cells"].sum().tolist() == [176, 175]
