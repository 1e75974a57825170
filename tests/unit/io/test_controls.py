"""Control features of imaging panels (blank codewords, negative-control probes, spike-ins and
non-RNA 10x features) are removed at ingest, counted, and never taken for genes."""

import importlib
import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import paths
from tmesig.io import IngestOptions, ingest
from tmesig.io.controls import CONTROL_RE, _imaging, control_mask

rows_module = importlib.import_module("tmesig.io.rows")

#: Control names of the three imaging platforms' exports and ERCC spike-ins, as they are spelt.
CONTROLS = [
    "Blank-0",
    "Blank-37",
    "BLANK_0006",
    "NegControlProbe_00042",
    "NegControlCodeword_0500",
    "UnassignedCodeword_0001",
    "DeprecatedCodeword_0101",
    "Intergenic_Region_12",
    "NegPrb3",
    "Negative12",
    "SystemControl7",
    "FalseCode_4",
    "ERCC-00002",
]
#: Real genes whose names start like a control: none may be taken for one.
LOOKALIKES = ["ERCC1", "ERCC6L2", "NEGR1", "BLK", "BLNK", "SYS1", "FALEC", "INTS1", "BLACAT1"]


def test_no_human_gene_symbol_is_a_control_name():
    genes = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name"])["gene_name"]
    hits = [g for g in genes.dropna().astype(str) if CONTROL_RE.match(g)]
    assert hits == []
    assert not any(CONTROL_RE.match(g) for g in LOOKALIKES)


def test_every_platform_control_name_is_matched():
    var = pd.DataFrame(index=[*CONTROLS, *LOOKALIKES])
    mask, rule = control_mask(var)
    assert mask.tolist() == [True] * len(CONTROLS) + [False] * len(LOOKALIKES)
    assert rule == "name"


def test_ten_x_feature_types_but_not_gene_biotypes():
    var = pd.DataFrame(
        {"feature_types": ["Gene Expression", "Antibody Capture", "Negative Control Probe"]},
        index=["CD3E", "CD3_TotalSeqB", "ProbeX"],
    )
    mask, rule = control_mask(var)
    assert mask.tolist() == [False, True, True]
    assert rule == "feature type (feature_types)"
    # CELLxGENE's feature_type is a gene biotype: an lncRNA is a gene
    biotype = pd.DataFrame({"feature_type": ["protein_coding", "lncRNA"]}, index=["CD3E", "MALAT1"])
    assert control_mask(biotype)[0].tolist() == [False, False]


def _coding(n):
    """The first ``n`` protein-coding symbols of the gene table."""
    table = pd.read_csv(paths.GENE_TABLE, sep="\t")
    return list(table.loc[table["biotype"] == "protein_coding", "gene_name"].unique()[:n])


def _panel(tmp_path, *, n_cells=60, seed=0):
    """A panel of 40 library genes + 8 controls; returns the path, counts and names."""
    rng = np.random.default_rng(seed)
    names = [*_coding(40)[:20], *CONTROLS[:2], *_coding(40)[20:], *CONTROLS[4:10]]
    x = rng.poisson(2.0, size=(n_cells, len(names))).astype(np.float32)
    x[:, 0] += 1
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=names))
    a.obs_names = [f"c{i}" for i in range(n_cells)]
    a.obs["sample"] = [f"s{i % 3}" for i in range(n_cells)]
    p = tmp_path / "panel.h5ad"
    a.write_h5ad(p)
    return p, x, names


@pytest.mark.parametrize("stream_above", [None, 0])
def test_ingest_drops_controls_and_records_their_share(tmp_path, monkeypatch, stream_above):
    monkeypatch.setattr(rows_module, "ROW_CHUNK", 7)
    p, x, names = _panel(tmp_path)
    is_ctrl = np.array([n in CONTROLS for n in names])
    out, record = ingest(
        p, dataset="d", sample_col="sample", options=IngestOptions(stream_above=stream_above)
    )
    genes = [n for n, c in zip(names, is_ctrl, strict=True) if not c]
    assert sorted(out.var_names) == sorted(genes)
    order = [genes.index(g) for g in out.var_names]
    expected = x[:, ~is_ctrl][:, order]
    np.testing.assert_array_equal(out.X.toarray(), expected)
    ctrl = record["matrix"]["control_features"]
    assert ctrl["removed"] == 8 and ctrl["rule"] == "name"
    share = record["matrix"]["control_count_share"]
    if stream_above is None:
        assert share == pytest.approx(x[:, is_ctrl].sum() / x.sum(), abs=1e-6)
    else:
        assert share is None  # not computed on a file read in chunks
    assert any("8 control features removed" in n for n in record["notes"])
    assert record["gene_ids"]["species"]["species"] == "human"
    assert record["genes"] == 40
    json.dumps(record)


def test_file_without_controls_is_untouched(tmp_path):
    rng = np.random.default_rng(1)
    genes = _coding(30)
    x = rng.poisson(2.0, size=(30, 30)).astype(np.float32) + 1
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(30)]
    a.write_h5ad(tmp_path / "d.h5ad")
    out, record = ingest(tmp_path / "d.h5ad", dataset="d")
    assert "control_features" not in record["matrix"]
    assert out.n_vars == 30


def _wide(tmp_path, names, *, n_cells=40):
    rng = np.random.default_rng(3)
    x = rng.poisson(0.3, size=(n_cells, len(names))).astype(np.float32)
    x[:, 0] += 1
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=names))
    a.obs_names = [f"c{i}" for i in range(n_cells)]
    p = tmp_path / "wide.h5ad"
    a.write_h5ad(p)
    return p


@pytest.mark.parametrize(
    ("controls", "requested", "mode"),
    [
        (["Blank-1", "Blank-2", "NegControlProbe_00003"], "auto", "panel"),  # a Xenium 5K-like
        (["ERCC-00002", "ERCC-00003"], "auto", "counts"),  # Smart-seq spike-ins: not imaging
        (["Blank-1", "Blank-2"], "counts", "counts"),  # the config decides when it says
    ],
)
def test_imaging_controls_make_a_large_panel_a_panel(tmp_path, controls, requested, mode):
    genes = _coding(1200)
    out, record = ingest(
        _wide(tmp_path, [*genes, *controls]),
        dataset="d",
        options=IngestOptions(input_mode=requested),
    )
    assert record["genes"] == 1200 and record["input_mode"] == mode
    assert record["matrix"]["control_features"]["imaging"] is ("Blank-1" in controls)
    said = any("treated as a targeted panel" in n for n in record["notes"])
    assert said is (mode == "panel")


def test_antibody_capture_is_not_an_imaging_control():
    var = pd.DataFrame(
        {"feature_types": ["Gene Expression", "Antibody Capture", "Blank Codeword"]},
        index=["CD3E", "CD3_TotalSeqB", "BLANK_X"],
    )
    assert _imaging(var, np.array([False, True, False])) is False
    assert _imaging(var, np.array([False, True, True])) is True
