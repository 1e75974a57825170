"""Stages ``subsets``, ``cnv``, ``states`` and ``subset_figures`` chained as the workflow
chains them: subset calls, CNV calls, their join, the figures."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import DEMO
from tmesig import cluster
from tmesig.annotate import annotate, load_markers
from tmesig.cnv import CnvOptions, call_malignant
from tmesig.io.expression import normalise_in_place
from tmesig.paths import MARKERS_DIR
from tmesig.stages import StageIO
from tmesig.stages import cnv as cnv_stage
from tmesig.stages import states as states_stage
from tmesig.stages import subset_figures as figures_stage
from tmesig.stages import subsets as stage
from tmesig.subsets import SubsetOptions, annotate_subsets

CONFIG = {
    "enabled": True,
    "markers": None,
    "resolution": 1.0,
    "seed": 0,
    "min_confidence": 0.4,
    "propagation_alpha": 0.99,
    "cnv": True,
    "cnv_window": 100,
}
FIGURES = ("umap", "umap_malignancy", "dotplot", "confidence")
CNV_FIGURES = ("cnv_heatmap", "cnv_scatter")
MARKERS = str(MARKERS_DIR / "subsets.yaml")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """600 demo cells, clustered (UMAP in its own table), and their lineage annotation."""
    demo = ad.read_h5ad(DEMO)
    adata = demo[np.random.default_rng(1).choice(demo.n_obs, 600, replace=False)].copy()
    adata.layers["counts"] = adata.X.copy()
    normalise_in_place(adata, mode="counts")
    cluster.cluster(adata, n_hvg=1000, n_pcs=15, seed=0)
    cells, _ = annotate(adata, load_markers())
    cells.insert(0, "source", "tmesig markers")
    cells.index.name = "cell"
    folder = tmp_path_factory.mktemp("subsets")
    cluster.write_umap(adata.obsm["X_umap"], adata.obs_names, folder / "umap.tsv")
    adata.write_h5ad(folder / "clustered.h5ad")
    cells.to_csv(folder / "annotation.tsv", sep="\t", float_format="%.6g")
    return folder / "clustered.h5ad", folder / "annotation.tsv", folder / "umap.tsv"


def _run_all(inputs, out: Path, **config) -> dict[str, str]:
    """Rules subsets, cnv, states and subset_figures as the workflow chains them."""
    h5ad, annotation, umap = (str(x) for x in inputs)
    params = {"subsets": {**CONFIG, **config}}
    common = {"h5ad": h5ad, "annotation": annotation, "markers": MARKERS}
    said = {}
    sub = {"cells": out / "subset_calls.parquet", "clusters": out / "clusters.tsv"}
    said["subsets"] = stage.run(StageIO(input=common, output=_str(sub), params=params))
    calls = {"calls": out / "cnv_calls.parquet"} | {k: out / f"{k}.png" for k in CNV_FIGURES}
    said["cnv"] = cnv_stage.run(StageIO(input=common, output=_str(calls), params=params))
    joined = {"cells": out / "annotation_final.tsv", "subsets": out / "cells.tsv"}
    said["states"] = states_stage.run(
        StageIO(
            input={
                "lineages": annotation,
                "subsets": [str(sub["cells"])],
                "cnv": [str(calls["calls"])],
                "markers": MARKERS,
            },
            output=_str(joined),
        )
    )
    figures = {k: out / f"{k}.png" for k in FIGURES}
    figure_inputs = common | {"umap": umap, "cells": str(joined["subsets"])}
    figures_io = StageIO(input=figure_inputs, output=_str(figures), params=params)
    figures_stage.run(figures_io)
    return said


def _str(d: dict) -> dict[str, str]:
    return {k: str(v) for k, v in d.items()}


def test_subsets_stage_with_cnv(inputs, tmp_path):
    said = _run_all(inputs, tmp_path)
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    adata = ad.read_h5ad(inputs[0])
    lineage = pd.read_csv(inputs[1], sep="\t", index_col=0)["compartment"].astype(str)
    want, clusters = annotate_subsets(adata, lineage, options=SubsetOptions())
    calls = call_malignant(adata, lineage=lineage, options=CnvOptions())
    assert cells.index.name == "cell"
    assert list(cells.columns[: len(want.columns)]) == list(want.columns)
    assert (cells["subset"] == want["subset"]).all()
    assert (cells["cnv_call"] == calls["cnv_call"].astype(str)).all()
    assert cells.columns[-1] == "final_subset"
    malignant = cells["cnv_call"] == "malignant"
    assert (cells.loc[malignant, "final_subset"] == "malignant").all()
    called = int((cells["subset"] != "unassigned").sum())
    assert said["subsets"].startswith(f"subsets called for {called:,} of {len(cells):,} cells (")
    assert said["cnv"].startswith(f"{int(malignant.sum()):,} malignant by copy number; ")
    removed = cells["removed_from_reference"]
    assert f"{int(removed.sum()):,} reference cells removed in all" in said["cnv"]
    assert not (cells["is_reference"] & removed).any()
    assert f"{int((cells['final_subset'] == 'malignant').sum()):,} malignant" in said["states"]
    got_clusters = pd.read_csv(tmp_path / "clusters.tsv", sep="\t")
    assert list(got_clusters.columns) == list(clusters.columns)
    for name in FIGURES + CNV_FIGURES:
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_subsets_stage_without_cnv(inputs, tmp_path):
    _run_all(inputs, tmp_path, cnv=False)
    cells = pd.read_csv(tmp_path / "cells.tsv", sep="\t", index_col=0)
    assert (cells["cnv_call"] == "not run").all()
    assert (cells["final_subset"] == cells["subset"]).all()
    assert "cnv_score" not in cells.columns
    for name in FIGURES + CNV_FIGURES:
        assert (tmp_path / f"{name}.png").stat().st_size > 0
