"""Stage genes: genes.tsv equals the package call; the dot plot is written; the summary says
which genes are not measured."""

import anndata as ad
import pandas as pd
from scoring_stage_data import signature_files, write_clustered
from tmesig import genes_view, signatures
from tmesig.stages import StageIO
from tmesig.stages import genes as genes_stage


def test_genes_stage(tmp_path):
    h5ad, annotation = write_clustered(tmp_path, n_per_sample=60)
    ann = pd.read_csv(annotation, sep="\t", index_col=0)
    # a state column as the states stage writes it (every state of a lineage its parent)
    ann["state"] = ann["compartment"].map({"T_NK": "CD8_exhausted", "myeloid": "macrophage"})
    ann["state"] = ann["state"].fillna("unassigned")
    ann["parent"] = ann["compartment"]
    ann.to_csv(annotation, sep="\t")
    lib = signatures.load_library(signature_files())
    coverage = pd.DataFrame({"set": [gs.name for gs in lib], "scored": True, "reason": ""})
    coverage.loc[coverage["set"] == "lag3_fgl1", ["scored", "reason"]] = (False, "min_genes 3")
    coverage.to_csv(tmp_path / "coverage.tsv", sep="\t", index=False)
    io = StageIO(
        input={
            "clustered": str(h5ad),
            "annotation": str(annotation),
            "coverage": str(tmp_path / "coverage.tsv"),
            "sets": signature_files(),
        },
        output={"table": str(tmp_path / "genes.tsv"), "dotplot": str(tmp_path / "dot.png")},
        params={"genes": {"min_cells": 5, "min_fraction": 0.1, "min_fold": 3, "max_set_genes": 12}},
    )
    summary = genes_stage.run(io)
    got = pd.read_csv(io.output["table"], sep="\t", keep_default_na=False, na_values=[""])
    ref = genes_view.gene_table(
        ad.read_h5ad(h5ad),
        lib,
        annotation=ann,
        coverage=coverage,
        options=genes_view.GeneViewOptions(min_cells=5),
    )
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_series_equal(got["mean"], ref["mean"], check_dtype=False)
    assert set(got["level"]) == {"lineage", "state"}
    assert {"CD8_exhausted", "macrophage"} <= set(got.loc[got["level"] == "state", "compartment"])
    assert "FGL1" in set(got["gene"])  # the unscored two-gene set, gene by gene
    absent = sorted(set(got.loc[~got["measured"], "gene"]))
    assert {"CD274", "TIGIT"} <= set(absent)  # the demo lacks them
    assert summary.startswith(f"{got['gene'].nunique()} genes by lineage and state")
    assert "not measured: " in summary and "CD274" in summary
    with open(io.output["dotplot"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
