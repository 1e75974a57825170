"""Stage ingest: checksums verified, then the h5ad and its JSON summary written."""

import hashlib
import importlib
import json

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import paths
from tmesig.io import IngestOptions, InputError, ingest
from tmesig.signatures import load_library
from tmesig.stages import StageIO
from tmesig.stages import ingest as stage

GENES = ["B2M", "PD-L1", "NT5E", "HAVCR2", "G1", "G2", "G3"]
SIGNATURE_FILES = sorted(str(p) for p in paths.SIGNATURES_DIR.glob("*.yaml"))
CONFIG = {"matrix_source": "auto", "allow_non_counts": False, "uppercase_mouse": False}


def _h5ad(path, seed=0, n=30):
    rng = np.random.default_rng(seed)
    x = sp.csr_matrix(rng.poisson(2.0, size=(n, len(GENES))).astype(np.float32))
    a = ad.AnnData(X=x, var=pd.DataFrame(index=GENES))
    a.obs_names = [f"c{i}" for i in range(n)]
    a.obs["donor"] = np.repeat(["p1", "p2"], n // 2)
    a.write_h5ad(path)
    return path


def _io(tmp_path, data, *, sha256="", min_cells=10):
    row = {"dataset": "t1", "path": "", "sha256": sha256, "sample_col": "donor"}
    row.update(patient_col="", condition_col="")
    return StageIO(
        input={"data": data},
        output={
            "h5ad": str(tmp_path / "out" / "ingested.h5ad"),
            "summary": str(tmp_path / "out" / "ingest_summary.json"),
        },
        params={
            "row": row,
            "ingest": {**CONFIG, "min_cells": min_cells},
            "signature_files": SIGNATURE_FILES,
        },
        wildcards={"dataset": "t1"},
    )


def test_writes_the_ingested_h5ad_and_its_summary(tmp_path):
    p = _h5ad(tmp_path / "d.h5ad")
    (tmp_path / "out").mkdir()
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    line = stage.run(_io(tmp_path, str(p), sha256=digest))
    assert line == "ingested 30 cells x 7 genes (counts from X); 1 aliases renamed"
    expected, summary = ingest(
        [str(p)],
        dataset="t1",
        sample_col="donor",
        signature_genes={g for gs in load_library(SIGNATURE_FILES) for g in gs.genes},
        options=IngestOptions(),
    )
    text = (tmp_path / "out" / "ingest_summary.json").read_text()
    assert text == json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    got = ad.read_h5ad(tmp_path / "out" / "ingested.h5ad")
    assert list(got.var_names) == list(expected.var_names)
    assert "CD274" in got.var_names and "PD-L1" not in got.var_names
    assert list(got.obs["sample"].cat.categories) == ["p1", "p2"]
    np.testing.assert_array_equal(got.X.toarray(), expected.X.toarray())
    assert "counts" not in got.layers  # the counts are stored once, in X
    assert got.uns["tmesig_ingest"] == expected.uns["tmesig_ingest"]


def test_multi_file_list_and_per_file_checksums(tmp_path):
    p1, p2 = _h5ad(tmp_path / "s1.h5ad", seed=1), _h5ad(tmp_path / "s2.h5ad", seed=2)
    (tmp_path / "out").mkdir()
    shas = ",".join(hashlib.sha256(p.read_bytes()).hexdigest() for p in (p1, p2))
    line = stage.run(_io(tmp_path, [str(p1), str(p2)], sha256=shas))
    assert line.startswith("ingested 60 cells x 7 genes (per file from per file)")
    summary = json.loads((tmp_path / "out" / "ingest_summary.json").read_text())
    assert [f["label"] for f in summary["files"]] == ["s1", "s2"]


def test_checksum_mismatch_and_config_floor_refused_before_writing(tmp_path):
    p = _h5ad(tmp_path / "d.h5ad")
    with pytest.raises(InputError, match="sha256 mismatch"):
        stage.run(_io(tmp_path, str(p), sha256="0" * 64))
    with pytest.raises(InputError, match="ingest.min_cells"):
        stage.run(_io(tmp_path, str(p), min_cells=100))
    assert not (tmp_path / "out").exists()


def test_above_stream_above_the_file_is_written_block_by_block_with_the_same_content(
    tmp_path, monkeypatch
):
    """Forced to read in chunks (``stream_above: 0``, blocks of 7 cells), the stage writes an
    ingested.h5ad holding the obs, var, uns and X of the in-memory read."""
    monkeypatch.setattr(importlib.import_module("tmesig.io.rows"), "ROW_CHUNK", 7)
    p = _h5ad(tmp_path / "d.h5ad", n=40)
    got = {}
    for name, above in (("mem", None), ("stream", 0)):
        io = _io(tmp_path, str(p))
        io.params["ingest"]["stream_above"] = above
        io.output["h5ad"] = str(tmp_path / f"{name}.h5ad")
        io.output["summary"] = str(tmp_path / f"{name}.json")
        stage.run(io)
        got[name] = ad.read_h5ad(tmp_path / f"{name}.h5ad")
    a, b = got["mem"], got["stream"]
    pd.testing.assert_frame_equal(a.obs, b.obs)
    pd.testing.assert_frame_equal(a.var, b.var)
    assert a.uns["tmesig_ingest"] == b.uns["tmesig_ingest"]
    assert b.X.dtype == np.float32 and (a.X != b.X).nnz == 0
    assert (tmp_path / "mem.json").read_text() == (tmp_path / "stream.json").read_text()
    with h5py.File(tmp_path / "stream.h5ad") as f:
        assert f["X"]["indptr"].dtype == np.int64  # room for more than 2**31 values


def test_author_labels_the_mapping_leaves_out_refused_before_writing(tmp_path):
    p = tmp_path / "d.h5ad"
    a = ad.read_h5ad(_h5ad(p))
    a.obs["ct"] = np.resize(["T cell", "Macrophage", "Tumour"], a.n_obs)
    a.write_h5ad(p)
    io = _io(tmp_path, str(p))
    io.params["row"]["label_col"] = "ct"
    mapping = {"T cell": "T_NK", "Macrophages": "myeloid"}  # a typo: 'Macrophages'
    io.params["annotate"] = {"use_author_labels": True, "label_mapping": mapping}
    with pytest.raises(InputError) as err:
        stage.run(io)
    msg = str(err.value)
    assert msg.startswith(str(p)) and "2 of the 3 labels of label_col 'ct'" in msg
    assert "('Macrophage', 'Tumour')" in msg and "in annotate.label_mapping" in msg
    assert not (tmp_path / "out").exists()
    io.params["annotate"]["use_author_labels"] = False  # agreement only: unmapped is fine
    (tmp_path / "out").mkdir()
    stage.run(io)
    mapping.update(Macrophage="myeloid", Tumour="epithelial")
    io.params["annotate"]["use_author_labels"] = True
    stage.run(io)
