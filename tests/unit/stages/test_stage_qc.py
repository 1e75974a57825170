import json
import os

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import planted_counts
from tmesig import qc
from tmesig.io import InputError
from tmesig.stages import StageIO
from tmesig.stages import qc as qc_stage

QC_CONFIG = {
    "nmads": 5,
    "nmads_mito": 3,
    "max_pct_mito": 25,
    "min_pct_mito": 5,
    "min_genes": 10,
    "min_cells_per_gene": 3,
    "doublets": True,
    "min_cells_doublets": 100,
    "seed": 0,
    "panel_min_genes_fraction": 0.02,
    "panel_doublets": False,
}


def _ingested(tmp_path, *, counts_layer=True):
    """Today's ingested layout (X and a counts layer) or the one-matrix layout (X only)."""
    a = planted_counts(n_per_group=80, n_genes=300, samples=("s1", "s2"))
    a.var_names = ["MT-CO1", "MT-ND1", *a.var_names[2:]]
    a.layers["counts"][:3, :2] = 500  # three high-mito cells
    a.X = a.layers["counts"].copy()
    if not counts_layer:
        del a.layers["counts"]
        a.uns["tmesig_ingest"] = json.dumps({"input_mode": "counts", "genes": 300})
    path = tmp_path / "ingested.h5ad"
    a.write_h5ad(path)
    return path


def _io(tmp_path, h5ad, config, requested="counts"):
    out = {"metrics": str(tmp_path / "metrics.tsv"), "summary": str(tmp_path / "summary.tsv")}
    # 300 planted genes would be a targeted panel under input_mode auto: these tests are on counts
    params = {"qc": config, "ingest": {"input_mode": requested}}
    return StageIO(input={"h5ad": str(h5ad)}, output=out, params=params)


@pytest.mark.parametrize("counts_layer", [True, False])
def test_qc_stage_writes_the_package_tables_only(tmp_path, counts_layer):
    h5ad = _ingested(tmp_path, counts_layer=counts_layer)
    before = h5ad.read_bytes()
    io = _io(tmp_path, h5ad, QC_CONFIG)
    summary_line = qc_stage.run(io)
    kept, metrics, summary = qc.run_qc(
        ad.read_h5ad(h5ad), options=qc.QcOptions.from_config(QC_CONFIG)
    )
    assert summary_line == f"QC kept {kept.n_obs} of 240 cells (input mode counts)"
    assert kept.n_obs < 240 and not metrics.loc[["c0", "c1", "c2"], "kept"].any()
    assert metrics.loc["c0", "removed_reason"].split(";")[-1] == "high_mito"
    assert open(io.output["metrics"]).read() == metrics.to_csv(sep="\t", float_format="%.6g")
    assert open(io.output["summary"]).read() == summary.to_csv(
        sep="\t", index=False, float_format="%.6g"
    )
    # tables only: no matrix written beside them, the input untouched
    assert sorted(os.listdir(tmp_path)) == ["ingested.h5ad", "metrics.tsv", "summary.tsv"]
    assert h5ad.read_bytes() == before
    table = pd.read_csv(io.output["metrics"], sep="\t", index_col=0)
    assert table.index.name == "cell" and table.columns[0] == "sample"
    assert list(table.columns[-2:]) == ["removed_reason", "kept"]
    # hand count: total counts of cell c0 and genes detected, from the file's own matrix
    x = ad.read_h5ad(h5ad).X
    assert np.isclose(table.loc["c0", "total_counts"], x[0].sum(), rtol=1e-5)
    assert table.loc["c5", "n_genes"] == x[5].count_nonzero()
    assert qc.read_input_mode(io.output["summary"]) == "counts"


def test_qc_stage_reads_the_mode_from_the_ingest_record_without_a_counts_layer(tmp_path):
    h5ad = _ingested(tmp_path, counts_layer=False)
    io = _io(tmp_path, h5ad, {**QC_CONFIG, "doublets": False}, requested="auto")
    assert qc_stage.run(io).endswith("(input mode panel)")  # 300 genes under auto: a panel
    assert qc.read_input_mode(io.output["summary"]) == "panel"


def test_qc_stage_all_removed_is_an_input_error(tmp_path):
    h5ad = _ingested(tmp_path)
    io = _io(tmp_path, h5ad, {**QC_CONFIG, "min_genes": 100_000, "doublets": False})
    with pytest.raises(InputError, match="QC removed every cell") as err:
        qc_stage.run(io)
    # the message names the file and says why each cell went (every one: too few genes)
    assert str(err.value).startswith(f"{h5ad}: QC removed every cell")
    reasons = str(err.value).split("(", 1)[1].split(")")[0]
    counts = [int(part.rsplit(": ", 1)[1]) for part in reasons.split("; ", 1)[1].split(", ")]
    assert reasons.startswith("240 cells;") and sum(counts) == 240
    assert all("below_min_genes" in part for part in reasons.split("; ", 1)[1].split(", "))
    assert not os.path.exists(io.output["metrics"]) and not os.path.exists(io.output["summary"])
