"""A small clustered dataset for the score and flag stages: 800 demo cells, log-normalised,
their compartments (the demo's author labels), and the shipped signature files."""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
from conftest import DEMO, QIAN_MAP
from tmesig.paths import SIGNATURES_DIR

SCORE_PARAMS = {
    "method": "mean_diff",
    "max_rank": 1500,
    "min_coverage": 0.5,
    "min_genes": 3,
    "ctrl_size": 50,
    "n_bins": 25,
    "seed": 0,
}
FLAG_PARAMS = {
    "unit": "sample",
    "min_cells": 10,
    "min_samples": 3,
    "alpha": 0.05,
    "min_effect": 0.5,
    "n_null": 19,
}


def signature_files() -> list[str]:
    """The signature YAML files, as the rules pass them."""
    return sorted(str(p) for p in SIGNATURES_DIR.glob("*.yaml"))


def write_clustered(tmp_path, n_per_sample=200):
    """Write ``clustered.h5ad`` and ``annotation.tsv`` (random cells of each demo sample);
    return their paths."""
    a = ad.read_h5ad(DEMO)
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(a.obs["sample"] == s), n_per_sample, replace=False)
            for s in a.obs["sample"].unique()
        ]
    )
    a = a[np.sort(keep)].copy()
    a.X = a.X.astype(np.float32)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    a.obs["sample"] = a.obs["sample"].astype(str)
    comp = a.obs["cell_type"].astype(str).map(QIAN_MAP).fillna("unassigned")
    h5ad = tmp_path / "clustered.h5ad"
    annotation = tmp_path / "annotation.tsv"
    a.write_h5ad(h5ad)
    pd.DataFrame({"compartment": comp}).to_csv(annotation, sep="\t")
    return h5ad, annotation
