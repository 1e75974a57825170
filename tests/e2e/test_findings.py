"""End-to-end: two tiny datasets -> a findings page each, and the datasets side by side."""

import pandas as pd
import pytest
import yaml
from test_workflow import _snakemake, _subsample
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

DATASETS = ("tiny_a", "tiny_b")
PATHS = WorkflowPaths(datasets=DATASETS, subsets=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two subsamples of the demo (4 samples x 60 cells each; tiny_b with two arms)."""
    tmp = tmp_path_factory.mktemp("findings")
    rows = []
    for i, ds in enumerate(DATASETS):
        data = tmp / f"{ds}.h5ad"
        _subsample(data, per_sample=60, seed=i)
        rows.append([ds, str(data), "", "sample", "", "arm" if i else "", "cell_type"])
    cols = ["dataset", "path", "sha256", "sample_col", "patient_col", "condition_col"]
    pd.DataFrame(rows, columns=[*cols, "label_col"]).to_csv(
        tmp / "samples.tsv", sep="\t", index=False
    )
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "qc": {"min_cells_doublets": 100},
        "cluster": {"n_pcs": 15},
        "subsets": {"enabled": False},
        "enrichment": {"permutation_num": 10},
        "flag": {"n_null": 19},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(tmp, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    return tmp


def test_findings_page_of_each_dataset(run):
    for ds in DATASETS:
        html = (run / PATHS.summary_html.format(dataset=ds)).read_text()
        md = (run / PATHS.summary_md.format(dataset=ds)).read_text()
        assert html.startswith("<!DOCTYPE html>") and f"Findings: {ds}" in html
        assert "https://" not in html and '<a href="flags.tsv">flags.tsv</a>' in html
        flags = pd.read_csv(run / PATHS.flags.format(dataset=ds), sep="\t")
        n_primary = int((flags["family"] == "primary").sum())
        n_flagged = int(flags["flagged"].sum())
        if n_flagged:
            assert f"{n_flagged} of {n_primary} pre-specified" in md
        else:
            assert f"Nothing is flagged: none of the {n_primary} pre-specified" in md
            assert "why not a flag" in md
        # four samples, each its own patient: four patients, a heatmap in the folder
        patients = pd.read_csv(run / PATHS.patients.format(dataset=ds), sep="\t")
        assert set(patients["patient"].astype(str)) == {"11", "12", "13", "14"}
        assert set(patients["set"]) <= set(flags["set"])
        heatmap = run / PATHS.patients_figures.format(dataset=ds) / "patients_heatmap.png"
        assert heatmap.read_bytes()[:4] == b"\x89PNG"
    md_a = (run / PATHS.summary_md.format(dataset="tiny_a")).read_text()
    md_b = (run / PATHS.summary_md.format(dataset="tiny_b")).read_text()
    assert "No condition was compared" in md_a
    assert "B vs A, patients as the unit" in md_b  # two arms of two patients: not testable


def test_datasets_side_by_side(run):
    table = pd.read_csv(run / PATHS.cross_table, sep="\t")
    assert list(dict.fromkeys(table["dataset"])) == list(DATASETS)
    for ds in DATASETS:  # every flags row of each dataset is there, with its numbers
        flags = pd.read_csv(run / PATHS.flags.format(dataset=ds), sep="\t")
        got = table[table["dataset"] == ds].merge(flags, on=["compartment", "set"])
        assert len(got) == len(flags)
        assert (got["flagged_x"] == got["flagged_y"]).all()
        same = got["effect_x"].isna() == got["resistance_effect"].isna()
        assert same.all()
    assert (run / PATHS.cross_heatmap).read_bytes()[:4] == b"\x89PNG"
    html = (run / PATHS.cross_html).read_text()
    assert '<a href="../tiny_a/summary.html">' in html and "Findings across 2 datasets" in html


def test_report_starts_with_findings(run):
    res = _snakemake(run, "--report", str(run / "report.html"))
    assert res.returncode == 0, res.stderr[-3000:]
    report = (run / "report.html").read_text(errors="ignore")
    assert "0. Findings" in report and "flags_by_dataset.tsv" in report
