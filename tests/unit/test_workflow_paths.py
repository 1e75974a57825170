"""tmesig.workflow_paths: every file name spelled once, the targets of rule ``all``."""

import hashlib
import re

import pandas as pd
import pytest
from conftest import REPO
from tmesig import paths as shipped
from tmesig.io import InputError
from tmesig.sheet import check_config
from tmesig.workflow_paths import WorkflowPaths

#: Every per-dataset result (as the end-to-end test listed them before WorkflowPaths).
RESULTS = {
    "ingested.h5ad",
    "ingest_summary.json",
    "qc_metrics.tsv",
    "umap.tsv",
    "qc_summary.tsv",
    "clustered.h5ad",
    "annotation.tsv",
    "annotation_lineages.tsv",
    "annotation_clusters.tsv",
    "scores.parquet",
    "coverage.tsv",
    "compartments.tsv",
    "flags.tsv",
    "report/umap_compartment.png",
    "report/umap_scores.png",
    "report/dotplot_card_genes.png",
    "report/heatmap_compartment_sets.png",
    "report/heatmap_states.png",
    "report/qc_violin.png",
    "report/umap_samples.png",
    "conditions.tsv",
    "composition.tsv",
    "composition_by_patient.tsv",
    "enrichment.tsv",
    "de_conditions.tsv",
    "enrichment_conditions.tsv",
    "report/forest_conditions.png",
    "report/composition_by_patient.png",
    "label_agreement.tsv",
    "annotation_subsets.tsv",
    "annotation_subclusters.tsv",
    "report/umap_subsets.png",
    "report/subset_markers.png",
    "report/annotation_confidence.png",
    "report/cnv_heatmap.png",
    "report/cnv_scatter.png",
    "report/umap_malignancy.png",
    "celltypist_agreement.tsv",
    "annotation_markers.tsv",
    "summary.html",
    "summary.md",
    "patients.tsv",
    "report/patients",
    "genes.tsv",
    "report/dotplot_genes_levels.png",
}
FOREST = "report/forest_conditions.png"
#: The report's tables as HTML pages (rule tables): made with or without the subset stage.
TABLE_PAGES = [
    f"tables/{name}.html"
    for name in (
        "qc_summary",
        "compartment_counts",
        "annotation_clusters",
        "label_agreement",
        "celltypist_agreement",
        "subset_counts",
        "annotation_subclusters",
        "coverage",
        "genes",
        "flags",
        "compartments",
        "conditions",
        "composition",
        "enrichment",
        "de_conditions",
        "enrichment_conditions",
    )
]
RESULTS |= set(TABLE_PAGES)
SUBSET_RESULTS = {
    "annotation_subsets.tsv",
    "annotation_subclusters.tsv",
    "report/umap_subsets.png",
    "report/subset_markers.png",
    "report/annotation_confidence.png",
    "report/cnv_heatmap.png",
    "report/cnv_scatter.png",
    "report/umap_malignancy.png",
}


def _core(ds):
    return [
        f"results/{ds}/flags.tsv",
        f"results/{ds}/compartments.tsv",
        f"results/{ds}/coverage.tsv",
        f"results/{ds}/report/umap_compartment.png",
        f"results/{ds}/report/umap_scores.png",
        f"results/{ds}/report/dotplot_card_genes.png",
        f"results/{ds}/report/heatmap_compartment_sets.png",
        f"results/{ds}/report/heatmap_states.png",
        f"results/{ds}/report/qc_violin.png",
        f"results/{ds}/report/umap_samples.png",
    ]


def _analysis(ds, subsets, conditioned=True):
    out = [
        f"results/{ds}/conditions.tsv",
        f"results/{ds}/composition.tsv",
        f"results/{ds}/enrichment.tsv",
        f"results/{ds}/de_conditions.tsv",
        f"results/{ds}/enrichment_conditions.tsv",
        *([f"results/{ds}/report/forest_conditions.png"] if conditioned else []),
        f"results/{ds}/report/composition_by_patient.png",
        f"results/{ds}/label_agreement.tsv",
        f"results/{ds}/genes.tsv",
        f"results/{ds}/report/dotplot_genes_levels.png",
    ]
    if subsets:
        out += [
            f"results/{ds}/annotation_subsets.tsv",
            f"results/{ds}/report/umap_subsets.png",
            f"results/{ds}/report/cnv_heatmap.png",
            f"results/{ds}/report/umap_malignancy.png",
        ]
    return out + [f"results/{ds}/{page}" for page in TABLE_PAGES]


def _findings(ds):
    return [
        f"results/{ds}/summary.html",
        f"results/{ds}/summary.md",
        f"results/{ds}/patients.tsv",
        f"results/{ds}/report/patients",
    ]


CROSS = [
    "results/summary/flags_by_dataset.tsv",
    "results/summary/heatmap_sets_by_dataset.png",
    "results/summary/summary.html",
]


def _samples(**paths):
    return pd.DataFrame({"dataset": list(paths), "path": list(paths.values())}).set_index(
        "dataset", drop=False
    )


def test_dataset_outputs_are_every_result():
    p = WorkflowPaths(datasets=("mini",), conditioned=("mini",))
    got = p.dataset_outputs("mini")
    assert len(got) == len(set(got)) and {f.removeprefix("results/mini/") for f in got} == RESULTS
    off = WorkflowPaths(datasets=("mini",), subsets=False, conditioned=("mini",))
    got = off.dataset_outputs("mini")
    assert {f.removeprefix("results/mini/") for f in got} == RESULTS - SUBSET_RESULTS
    # no condition column in the sheet: no forest plot at all
    plain = WorkflowPaths(datasets=("mini",)).dataset_outputs("mini")
    assert {f.removeprefix("results/mini/") for f in plain} == RESULTS - {FOREST}


@pytest.mark.parametrize("subsets", [True, False])
def test_targets_in_the_order_rule_all_had(subsets):
    p = WorkflowPaths(datasets=("a", "b"), subsets=subsets, conditioned=("b",))
    expected = ["results/signatures/library.tsv", "results/signatures/tmesig.gmt"]
    expected += _core("a") + _core("b")
    expected += _analysis("a", subsets, conditioned=False) + _analysis("b", subsets)
    expected += _findings("a") + _findings("b") + CROSS
    assert p.targets() == expected
    assert set(p.targets()) - {p.library_table, p.library_gmt, *CROSS} <= {
        f for ds in "ab" for f in p.dataset_outputs(ds)
    }


def test_one_dataset_has_no_cross_dataset_summary():
    targets = WorkflowPaths(datasets=("a",)).targets()
    assert _findings("a") == targets[-4:] and not set(CROSS) & set(targets)


def test_templates_spelled_once():
    templates = [v for k, v in vars(WorkflowPaths).items() if isinstance(v, str) and "/" in v]
    assert len(templates) == len(set(templates))
    assert WorkflowPaths.clustered == "results/{dataset}/clustered.h5ad"
    assert WorkflowPaths.download == "resources/downloads/{dataset}.{ext}"


def test_logs_and_benchmarks():
    assert WorkflowPaths.log("qc") == "logs/{dataset}/qc.log"
    assert WorkflowPaths.benchmark("qc") == "logs/{dataset}/qc.benchmark.tsv"
    assert WorkflowPaths.log("download.{ext}") == "logs/{dataset}/download.{ext}.log"
    bench = WorkflowPaths.benchmark("download.{ext}")
    assert bench == "logs/{dataset}/download.{ext}.benchmark.tsv"
    assert WorkflowPaths.log("signatures") == "logs/signatures.log"
    assert WorkflowPaths.benchmark("signatures") == "logs/signatures.benchmark.tsv"


def test_rules_name_no_file_themselves():
    """Every rule takes its files from ``paths``: no results/ or logs/ literal in the rules."""
    files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    for f in files:
        text = f.read_text()
        assert not re.search(r"[\"'](results|logs|resources)/", text), f.name
    rules = "\n".join(f.read_text() for f in files)
    for name in ("clustered", "flags", "scores", "annotation", "library_gmt", "download"):
        assert f"paths.{name}" in rules


def test_from_config_defaults_to_shipped_resources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = check_config({"samples": "s.tsv"})
    p = WorkflowPaths.from_config(cfg, _samples(d1="x.h5ad", d2=" https://h/y.H5?a=1 "))
    assert p.datasets == ("d1", "d2") and p.subsets and p.sheet == "s.tsv"
    assert p.conditioned == ()
    assert p.markers_yaml == str(shipped.MARKERS_DIR / "compartments.yaml")
    assert p.subset_markers_yaml == str(shipped.MARKERS_DIR / "subsets.yaml")
    assert p.hallmark_gmt == str(shipped.HALLMARK_GMT) and p.celltypist_model is None
    files = p.signature_files
    assert files == sorted(str(f) for f in shipped.SIGNATURES_DIR.glob("*.yaml")) and files
    assert p.inputs("d2") == ["resources/downloads/d2.h5"]
    assert p.inputs("d2", check=True) == ["resources/downloads/d2.h5"]  # downloaded by its rule


def test_from_config_takes_configured_resources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "b.yaml").write_text("x")
    (tmp_path / "sets" / "a.yaml").write_text("x")
    (tmp_path / "model.pkl").write_text("x")
    cfg = check_config(
        {
            "samples": "s.tsv",
            "annotate": {
                "markers": "m.yaml",
                "celltypist_model": "model.pkl",
                "celltypist_sha256": hashlib.sha256(b"x").hexdigest(),
            },
            "subsets": {"markers": "sm.yaml", "enabled": False},
            "signatures": {"directory": "sets"},
        }
    )
    p = WorkflowPaths.from_config(cfg, _samples(d1="x.h5ad"))
    assert (p.markers_yaml, p.subset_markers_yaml) == ("m.yaml", "sm.yaml")
    assert p.celltypist_model == "model.pkl" and not p.subsets
    assert p.signature_files == ["sets/a.yaml", "sets/b.yaml"]


def test_missing_celltypist_model_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = check_config({"samples": "s.tsv", "annotate": {"celltypist_model": "m/Immune.pkl"}})
    with pytest.raises(InputError) as err:
        WorkflowPaths.from_config(cfg, _samples(d1="x.h5ad"))
    msg = str(err.value)
    assert msg.startswith("annotate.celltypist_model: m/Immune.pkl is not a file")
    assert "never downloads" in msg and "set it to null" in msg


def test_celltypist_model_needs_its_sha256(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.pkl").write_bytes(b"model bytes")
    good = hashlib.sha256(b"model bytes").hexdigest()
    for sha, words in [
        (None, ("annotate.celltypist_sha256: missing", "a pickle", "sha256sum m.pkl")),
        ("a" * 64, ("annotate.celltypist_sha256: sha256 mismatch for m.pkl", f"file is {good}")),
    ]:
        cfg = check_config(
            {
                "samples": "s.tsv",
                "annotate": {"celltypist_model": "m.pkl", "celltypist_sha256": sha},
            }
        )
        with pytest.raises(InputError) as err:
            WorkflowPaths.from_config(cfg, _samples(d1="x.h5ad"))
        assert all(w in str(err.value) for w in words), str(err.value)
        assert "Fix: " in str(err.value)
    cfg = check_config(
        {"samples": "s.tsv", "annotate": {"celltypist_model": "m.pkl", "celltypist_sha256": good}}
    )
    assert WorkflowPaths.from_config(cfg, _samples(d1="x.h5ad")).celltypist_model == "m.pkl"
    assert (tmp_path / "m.pkl").read_bytes() == b"model bytes"


def test_local_inputs_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.h5ad").write_text("x")
    p = WorkflowPaths(datasets=("d",), sources={"d": " a.h5ad, b.h5ad ,"}, sheet="my.tsv")
    assert p.inputs("d") == ["a.h5ad", "b.h5ad"]
    with pytest.raises(InputError) as err:
        p.inputs("d", check=True)
    msg = str(err.value)
    assert msg.startswith("my.tsv: dataset 'd': file not found: b.h5ad (paths are relative")
    assert str(tmp_path) in msg and "'path' column" in msg


def test_from_config_conditioned_datasets_come_from_the_sheet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sheet = _samples(d1="x.h5ad", d2="y.h5ad", d3="z.h5ad")
    sheet["condition_col"] = ["arm", "", " "]
    p = WorkflowPaths.from_config(check_config({"samples": "s.tsv"}), sheet)
    assert p.conditioned == ("d1",)
    forest = [t for t in p.targets() if t.endswith("forest_conditions.png")]
    assert forest == ["results/d1/report/forest_conditions.png"]


def test_table_pages_are_the_pages_tmesig_tables_makes():
    from tmesig.tables import SPECS

    p = WorkflowPaths()
    assert [f"tables/{name}.html" for name in SPECS] == TABLE_PAGES
    for name in SPECS:
        assert getattr(p, f"table_{name}") == f"results/{{dataset}}/tables/{name}.html"
