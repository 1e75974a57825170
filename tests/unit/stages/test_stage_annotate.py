"""Stage ``annotate`` (tmesig.stages.annotate): lineage calls, author labels, CellTypist."""

import hashlib
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import DEMO, QIAN_MAP, train_celltypist_model
from tmesig import cluster
from tmesig.annotate import AnnotateOptions, annotate, load_markers
from tmesig.celltypist_bridge import NO_AUTHOR_LABELS, NO_CELLTYPIST_MODEL
from tmesig.io.errors import InputError
from tmesig.io.expression import normalise_in_place
from tmesig.paths import MARKERS_DIR
from tmesig.stages import StageIO
from tmesig.stages import annotate as stage

CONFIG = {
    "min_confidence": 0.5,
    "min_margin": 0.3,
    "min_score": 0.05,
    "use_author_labels": False,
    "label_mapping": QIAN_MAP,
    "celltypist_model": None,
    "celltypist_sha256": None,
    "celltypist_majority_voting": False,
    "celltypist_mapping": {},
}
OUTPUTS = ("cells", "clusters", "agreement", "celltypist")


@pytest.fixture(scope="module")
def clustered(tmp_path_factory) -> Path:
    """400 demo cells, clustered as the pipeline does; author labels as ingest names them."""
    demo = ad.read_h5ad(DEMO)
    adata = demo[np.random.default_rng(0).choice(demo.n_obs, 400, replace=False)].copy()
    adata.layers["counts"] = adata.X.copy()
    adata.obs["orig_cell_type"] = adata.obs["cell_type"].astype(str)
    normalise_in_place(adata, mode="counts")
    cluster.cluster(adata, n_hvg=1000, n_pcs=15, seed=0)
    path = tmp_path_factory.mktemp("annotate") / "clustered.h5ad"
    adata.write_h5ad(path)
    return path


def _io(clustered: Path, out: Path, label_col: str = "", **config) -> StageIO:
    return StageIO(
        input={"h5ad": str(clustered), "markers": str(MARKERS_DIR / "compartments.yaml")},
        output={k: str(out / f"{k}.tsv") for k in OUTPUTS},
        params={"annotate": {**CONFIG, **config}, "row": {"label_col": label_col}},
    )


def test_annotate_stage_tables_and_author_agreement(clustered, tmp_path):
    summary = stage.run(_io(clustered, tmp_path, label_col="cell_type"))
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    adata = ad.read_h5ad(clustered)
    want, clusters = annotate(adata, load_markers(), options=AnnotateOptions())
    assert cells.index.name == "cell"
    assert list(cells.columns[:6]) == [
        "source",
        "cluster",
        "compartment",
        "confidence",
        "cell_compartment",
        "cell_confidence",
    ]
    assert (cells["source"] == "tmesig markers").all()
    assert (cells["compartment"] == want["compartment"]).all()
    assert (cells["author_label"] == adata.obs["cell_type"].astype(str)).all()
    counts = cells["compartment"].value_counts()
    assert summary == "cells per compartment: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    got_clusters = pd.read_csv(tmp_path / "clusters.tsv", sep="\t")
    assert list(got_clusters.columns) == [*clusters.columns, "input_mode"]
    assert (got_clusters["input_mode"] == "counts").all() and (
        cells["input_mode"] == "counts"
    ).all()
    assert len(got_clusters) == len(clusters)
    agreement = pd.read_csv(tmp_path / "agreement.tsv", sep="\t", index_col=0)
    assert agreement.index.name == "ours"
    assert agreement.loc["All", "All"] == adata.n_obs
    note = pd.read_csv(tmp_path / "celltypist.tsv", sep="\t")
    assert list(note["note"]) == [NO_CELLTYPIST_MODEL]


def test_annotate_stage_without_labels_writes_notes(clustered, tmp_path):
    stage.run(_io(clustered, tmp_path))
    assert pd.read_csv(tmp_path / "agreement.tsv", sep="\t")["note"].tolist() == [NO_AUTHOR_LABELS]
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    assert "author_label" not in cells.columns


def test_annotate_stage_author_labels_and_celltypist(clustered, tmp_path):
    demo = ad.read_h5ad(DEMO)
    model = train_celltypist_model(demo[:1500].copy(), "cell_type", tmp_path / "m.pkl")
    io = _io(
        clustered,
        tmp_path,
        label_col="cell_type",
        use_author_labels=True,
        celltypist_model=str(model),
        celltypist_sha256=hashlib.sha256(model.read_bytes()).hexdigest(),
        celltypist_mapping=QIAN_MAP,
    )
    stage.run(io)
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    mapped = cells["author_label"].map(QIAN_MAP)
    assert (cells["compartment"] == mapped).all()
    assert (cells["source"] == "author labels (cell_type)").all()
    assert {"tmesig_compartment", "celltypist_label", "celltypist_confidence"} <= set(cells)
    table = pd.read_csv(tmp_path / "celltypist.tsv", sep="\t", index_col=0)
    assert table.index.name == "ours"
    # ours in the CellTypist table are tmesig's calls, not the author labels
    assert table.loc["All", "All"] == len(cells)
    ours = cells["tmesig_compartment"].value_counts()
    assert table.loc[ours.index, "All"].tolist() == ours.tolist()


def test_annotate_stage_missing_label_col_is_input_error(clustered, tmp_path):
    with pytest.raises(InputError, match="label_col 'nope'") as info:
        stage.run(_io(clustered, tmp_path, label_col="nope"))
    assert str(clustered) in str(info.value)


def test_annotate_stage_panel_mode_writes_markers_found(clustered, tmp_path):
    """Panel mode: markers from the panel candidates a cluster expresses; the table counts them."""
    from tmesig.annotate import PANEL_MARKERS, annotate_panel
    from tmesig.input_mode import store_input_mode

    adata = ad.read_h5ad(clustered)
    store_input_mode(adata, "panel")
    path = tmp_path / "panel.h5ad"
    adata.write_h5ad(path)
    io = _io(path, tmp_path)
    io.output["markers_found"] = str(tmp_path / "markers.tsv")
    stage.run(io)
    found = pd.read_csv(tmp_path / "markers.tsv", sep="\t").set_index("lineage")
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    assert (found["input_mode"] == "panel").all() and (cells["input_mode"] == "panel").all()
    candidates = load_markers(PANEL_MARKERS)
    _, _, used = annotate_panel(adata, candidates)
    for lin, genes in candidates.items():
        assert found.loc[lin, "markers_listed"] == len(genes)
        assert found.loc[lin, "markers_measured"] == sum(g in adata.var_names for g in genes)
        # used: the markers a cluster singles out, as annotate_panel reports them
        assert set(str(found.loc[lin, "genes"]).split(",")) - {"nan"} == set(used[lin])
    assert (found["cells_called"].sum() + (cells["compartment"] == "unassigned").sum()) == len(
        cells
    )


def test_agreement_without_a_label_mapping_is_said_not_computed(clustered, tmp_path, caplog):
    """The demo's author labels (Epithelial, T_cell...) name no tmesig lineage: without
    annotate.label_mapping no cell can agree, and the log says so instead of 0.000."""
    caplog.set_level("INFO", logger="tmesig")
    (tmp_path / "bare").mkdir()
    (tmp_path / "mapped").mkdir()
    stage.run(_io(clustered, tmp_path / "bare", label_col="cell_type", label_mapping={}))
    assert "not computed: none of its labels names a tmesig lineage" in caplog.text
    caplog.clear()
    stage.run(_io(clustered, tmp_path / "mapped", label_col="cell_type", label_mapping=QIAN_MAP))
    line = next(r.getMessage() for r in caplog.records if "agreement with author" in r.getMessage())
    assert float(line.rsplit(": ", 1)[1]) > 0.8


def _spy_reads(monkeypatch) -> list:
    """Record the ``genes=`` of every read_expression call of the stage (None: all genes)."""
    calls: list = []
    real = stage.read_expression

    def spy(path, **kwargs):
        calls.append(kwargs.get("genes"))
        return real(path, **kwargs)

    monkeypatch.setattr(stage, "read_expression", spy)
    return calls


def test_annotate_stage_reads_only_the_marker_genes(clustered, tmp_path, monkeypatch):
    """Counts input: the stage reads the marker genes only (never the whole matrix), and its
    tables are those of the whole matrix."""
    import yaml

    calls = _spy_reads(monkeypatch)
    seen = {}
    real_annotate = stage.annotate

    def spy_annotate(adata, markers, **kwargs):
        seen["n_vars"] = adata.n_vars
        return real_annotate(adata, markers, **kwargs)

    monkeypatch.setattr(stage, "annotate", spy_annotate)
    stage.run(_io(clustered, tmp_path, label_col="cell_type"))
    raw = yaml.safe_load((MARKERS_DIR / "compartments.yaml").read_text())["compartments"]
    listed = {g for entry in raw.values() for g in entry["genes"]}
    assert len(calls) == 1 and calls[0] is not None
    assert set(calls[0]) == listed
    full = ad.read_h5ad(clustered)
    assert seen["n_vars"] == len(listed & set(full.var_names)) < full.n_vars / 10
    want, want_clusters = annotate(full, load_markers(), options=AnnotateOptions())
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    assert (cells["compartment"] == want["compartment"]).all()
    score_cols = [c for c in want if c.startswith("score_")]
    np.testing.assert_allclose(cells[score_cols], want[score_cols], rtol=1e-5)
    clusters = pd.read_csv(tmp_path / "clusters.tsv", sep="\t")
    assert clusters["compartment"].tolist() == want_clusters["compartment"].tolist()


def test_annotate_stage_panel_mode_reads_every_panel_gene(clustered, tmp_path, monkeypatch):
    """Panel mode: every gene is read (the sub-clustering PCA uses them all)."""
    from tmesig.input_mode import store_input_mode

    adata = ad.read_h5ad(clustered)
    store_input_mode(adata, "panel")
    path = tmp_path / "panel.h5ad"
    adata.write_h5ad(path)
    calls = _spy_reads(monkeypatch)
    stage.run(_io(path, tmp_path))
    assert calls == [None]
