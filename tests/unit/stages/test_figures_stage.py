"""Stage ``figures``: the six report figures, with the card genes taken from the library."""

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from tmesig import paths, report
from tmesig.cluster import write_umap
from tmesig.signatures import card_genes, load_library
from tmesig.stages import StageIO
from tmesig.stages import figures as stage

OUTPUTS = {
    "umap_compartment": "umap_compartment.png",
    "umap_scores": "umap_scores.png",
    "dotplot": "dotplot_card_genes.png",
    "heatmap": "heatmap_compartment_sets.png",
    "heatmap_states": "heatmap_states.png",
    "qc_violin": "qc_violin.png",
    "umap_samples": "umap_samples.png",
}


@pytest.fixture
def inputs(planted, tmp_path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    names = list(a.var_names)
    names[:6] = ["CD274", "NT5E", "LAG3", "HAVCR2", "TIGIT", "SLC7A11"]  # B2M absent
    a.var_names = names
    a.write_h5ad(tmp_path / "clustered.h5ad")
    write_umap(rng.normal(size=(a.n_obs, 2)), a.obs_names, tmp_path / "umap.tsv")
    compartment = a.obs["group"].map({"A": "T_NK", "B": "myeloid", "C": "malignant"})
    pd.DataFrame({"compartment": compartment}, index=a.obs_names).to_csv(
        tmp_path / "annotation.tsv", sep="\t"
    )
    sets = [s.name for s in load_library()]
    scores = pd.DataFrame(rng.normal(size=(a.n_obs, len(sets))), index=a.obs_names, columns=sets)
    scores.iloc[::-1].to_parquet(tmp_path / "scores.parquet")
    comps = pd.DataFrame(
        {"compartment": ["T_NK", "myeloid", "malignant"], "sample": "s1", "n_cells": 60}
    )
    comps = pd.concat([comps, pd.DataFrame(rng.normal(size=(3, len(sets))), columns=sets)], axis=1)
    comps.to_csv(tmp_path / "compartments.tsv", sep="\t", index=False)
    flags = pd.DataFrame({"compartment": ["T_NK"], "set": ["cd274_pdl1"], "flagged": [True]})
    flags.to_csv(tmp_path / "flags.tsv", sep="\t", index=False)
    metrics = pd.DataFrame(
        {
            "sample": a.obs["sample"].to_numpy(),
            "total_counts": rng.integers(500, 5000, a.n_obs),
            "n_genes": rng.integers(200, 2000, a.n_obs),
            "pct_mito": rng.uniform(0, 20, a.n_obs),
            "kept": np.arange(a.n_obs) % 7 != 0,
        },
        index=a.obs_names,
    )
    metrics.to_csv(tmp_path / "qc_metrics.tsv", sep="\t")
    pd.DataFrame({"sample": ["s1"], "min_total_counts": [400.0]}).to_csv(
        tmp_path / "qc_summary.tsv", sep="\t", index=False
    )
    pd.DataFrame({"set": ["lag3_fgl1"], "n_genes": [2], "n_found": [1], "method": ["x"]}).to_csv(
        tmp_path / "coverage.tsv", sep="\t", index=False
    )
    files = {
        key: str(tmp_path / name)
        for key, name in [
            ("clustered", "clustered.h5ad"),
            ("umap", "umap.tsv"),
            ("annotation", "annotation.tsv"),
            ("scores", "scores.parquet"),
            ("flags", "flags.tsv"),
            ("compartments", "compartments.tsv"),
            ("qc_metrics", "qc_metrics.tsv"),
            ("qc_summary", "qc_summary.tsv"),
            ("coverage", "coverage.tsv"),
        ]
    }
    files["sets"] = sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml"))
    return files


def test_figures_stage_writes_six_pngs(inputs, tmp_path, monkeypatch):
    shown: dict[str, list] = {}
    dotplot = report.dotplot_genes

    def spy(adata, genes, *, groupby):
        shown["genes"], shown["groupby"] = list(genes), groupby
        shown["var_names"] = list(adata.var_names)
        shown["compartments"] = adata.obs["compartment"].cat.categories.tolist()
        return dotplot(adata, genes, groupby=groupby)

    umap_scores = report.umap_scores

    def spy_scores(umap, scores, *, sets, coverage):
        shown["sets"] = [gs.name for gs in sets]
        shown["aligned"] = scores.index.tolist()
        shown["coverage"] = coverage["set"].tolist()
        return umap_scores(umap, scores, sets=sets, coverage=coverage)

    umap_by = report.umap_by

    def spy_by(adata, *, keys, titles):
        shown["sample_keys"], shown["titles"] = list(keys), dict(titles)
        return umap_by(adata, keys=keys, titles=titles)

    reads = []
    read_expression = stage.read_expression

    def spy_read(path, **kwargs):
        reads.append(kwargs.get("genes"))
        return read_expression(path, **kwargs)

    monkeypatch.setattr(stage, "read_expression", spy_read)
    monkeypatch.setattr(report, "dotplot_genes", spy)
    monkeypatch.setattr(report, "umap_scores", spy_scores)
    monkeypatch.setattr(report, "umap_by", spy_by)
    out = tmp_path / "report"
    out.mkdir()
    io = StageIO(input=inputs, output={k: str(out / v) for k, v in OUTPUTS.items()})
    assert stage.run(io) == "7 figures for 180 cells"
    for name in OUTPUTS.values():
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, name
    library = load_library()
    assert shown["genes"] == card_genes(library)
    assert shown["genes"] == ["CD274", "NT5E", "LAG3", "HAVCR2", "TIGIT", "SLC7A11", "B2M"]
    # only the card genes are read from the matrix (file order; B2M is absent)
    assert reads == [shown["genes"]]
    assert shown["var_names"] == ["CD274", "NT5E", "LAG3", "HAVCR2", "TIGIT", "SLC7A11"]
    assert shown["groupby"] == "compartment"
    assert shown["compartments"] == ["T_NK", "malignant", "myeloid"]
    assert shown["sets"] == [s.name for s in library if s.card]
    assert shown["aligned"] == [f"c{i}" for i in range(180)]
    assert shown["coverage"] == ["lag3_fgl1"]
    # no patient column in the planted data: patient == sample, one panel that says so
    assert shown["sample_keys"] == ["sample"]
    assert shown["titles"] == {"sample": "sample (each sample is its own patient)"}


def test_sample_umap_panels_follow_the_sheet():
    obs = pd.DataFrame(
        {"sample": ["a", "b", "c"], "patient": ["p1", "p1", "p2"], "condition": ["R", "R", "NR"]}
    )
    keys, titles = stage._sample_keys(obs)
    assert keys == ["sample", "patient", "condition"] and titles == {"sample": "sample"}
    one = obs.assign(patient=obs["sample"], condition="NA")
    assert stage._sample_keys(one)[0] == ["sample"]
