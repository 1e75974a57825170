"""Ingest of a large dataset read a chunk of cells at a time: the values, records and refusals
of the in-memory read, with no read of more than one chunk of cells."""

import importlib
import json
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from tmesig.io import IngestOptions, ingest, ingest_lazily
from tmesig.io.write import write_h5ad_deterministic, write_h5ad_streamed
from tmesig.signatures import load_library

rows_module = importlib.import_module("tmesig.io.rows")
ingest_file_module = importlib.import_module("tmesig.io.ingest_file")
REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "data"))
import make_bad_inputs as mb  # noqa: E402
import make_hostile_matrices as mh  # noqa: E402

IN_MEMORY = IngestOptions(stream_above=None)
STREAMED = IngestOptions(stream_above=0)
SIGNATURE_FILES = sorted(str(p) for p in (REPO / "resources" / "signatures").glob("*.yaml"))
GENES = ["CD3E", "CD8A", "PTPRC", "EPCAM", "KRT8", "COL1A1", "PDCD1", "CD274", "LAG3", "HAVCR2"]


@pytest.fixture
def small_chunks(monkeypatch):
    """Blocks of 7 cells (and the per-cell checks' slices): every dataset below spans several."""
    monkeypatch.setattr(rows_module, "ROW_CHUNK", 7)
    monkeypatch.setattr(importlib.import_module("tmesig.io.cell_checks"), "_CHUNK", 7)


def _counts(n_cells=40, n_genes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.poisson(1.5, size=(n_cells, n_genes)).astype(np.float32)
    x[:, 0] += 1  # every cell has counts
    return sp.csr_matrix(x)


def _obs(n_cells, n_samples=4):
    sample = [f"s{i % n_samples}" for i in range(n_cells)]
    return pd.DataFrame(
        {"sample": sample, "cond": ["a" if int(s[1]) % 2 else "b" for s in sample]},
        index=[f"c{i}" for i in range(n_cells)],
    )


def _write(path, x, *, layers=None, raw=None, genes=GENES):
    a = ad.AnnData(X=x, obs=_obs(x.shape[0]), var=pd.DataFrame(index=genes[: x.shape[1]]))
    for k, v in (layers or {}).items():
        a.layers[k] = v
    if raw is not None:
        a.raw = raw
    a.write_h5ad(path)
    return str(path)


def _both(path, **kw):
    kw = {"dataset": "d", "sample_col": "sample", "condition_col": "cond", **kw}
    return ingest(path, options=IN_MEMORY, **kw), ingest(path, options=STREAMED, **kw)


def _assert_same(a, b):
    (ma, sa), (mb_, sb) = a, b
    pd.testing.assert_frame_equal(ma.obs, mb_.obs)
    pd.testing.assert_frame_equal(ma.var, mb_.var)
    assert ma.X.dtype == mb_.X.dtype == np.float32
    assert mb_.X.has_sorted_indices
    for attr in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(ma.X, attr), getattr(mb_.X, attr)), attr
    assert sa == sb
    assert ma.uns["tmesig_ingest"] == mb_.uns["tmesig_ingest"]


def test_counts_in_x_identical_to_the_in_memory_read(tmp_path, small_chunks):
    x = _counts()
    a, b = _both(_write(tmp_path / "d.h5ad", x))
    _assert_same(a, b)
    assert np.array_equal(b[0].X.toarray(), x.toarray())  # the planted counts themselves


def test_counts_layer_beside_log_x_and_raw_with_more_genes(tmp_path, small_chunks):
    x = _counts()
    logx = sp.csr_matrix(np.log1p(x.toarray() / x.sum(axis=1).A * 1e4).astype(np.float32))
    p = _write(tmp_path / "layer.h5ad", logx, layers={"counts": x})
    a, b = _both(p)
    _assert_same(a, b)
    assert b[1]["matrix"]["source"] == "layers/counts"
    wide = ad.AnnData(X=_counts(40, 10, seed=3), var=pd.DataFrame(index=GENES))
    narrow = ad.AnnData(X=logx[:, [3, 1, 0]], obs=_obs(40), var=pd.DataFrame(index=GENES[:3]))
    narrow.var_names = [GENES[3], GENES[1], GENES[0]]
    narrow.raw = wide
    narrow.write_h5ad(tmp_path / "raw.h5ad")
    a, b = _both(str(tmp_path / "raw.h5ad"))
    _assert_same(a, b)
    assert b[1]["matrix"]["genes_from"] == "raw" and b[0].n_vars == 10


def test_recovered_cp10k_and_log1p_normalised(tmp_path, small_chunks):
    x = _counts().toarray()
    cp10k = x / x.sum(axis=1, keepdims=True) * 1e4
    for name, values in (("cp10k", cp10k), ("log1p", np.log1p(cp10k))):
        a, b = _both(_write(tmp_path / f"{name}.h5ad", sp.csr_matrix(values)))
        _assert_same(a, b)
        assert b[1]["matrix"]["recovered"] is True
        assert np.array_equal(b[0].X.toarray(), x)  # the exact counts back


def test_normalised_input_mode_keeps_log_values(tmp_path, small_chunks):
    rng = np.random.default_rng(1)
    x = sp.random(40, 10, density=0.5, random_state=2, dtype=np.float64)
    x.data = rng.uniform(0.1, 4.0, x.nnz)
    p = _write(tmp_path / "log.h5ad", sp.csr_matrix(x))
    kw = {"dataset": "d", "sample_col": "sample"}
    a = ingest(p, options=IngestOptions(stream_above=None, input_mode="normalised"), **kw)
    b = ingest(p, options=IngestOptions(stream_above=0, input_mode="normalised"), **kw)
    _assert_same(a, b)
    assert b[1]["input_mode"] == "normalised"


def test_duplicated_symbols_summed_and_multi_file_intersection(tmp_path, small_chunks):
    genes = [*GENES[:8], "CD3E", "CD8A"]  # two symbols twice: summed
    p1 = _write(tmp_path / "f1.h5ad", _counts(30, 10, seed=4), genes=genes)
    a, b = _both(p1)
    _assert_same(a, b)
    assert b[0].n_vars == 8 and b[1]["duplicate_symbols_summed"] == 2
    x = _counts(30, 10, seed=4).toarray()
    assert np.array_equal(b[0].X.toarray()[:, 0], x[:, 0] + x[:, 8])
    p2 = _write(tmp_path / "f2.h5ad", _counts(25, 9, seed=5), genes=GENES[1:])
    a, b = _both([p1, p2], sample_col=None, condition_col=None)
    _assert_same(a, b)
    assert b[0].n_obs == 55 and b[1]["gene_merge"] == "intersection"


def test_lazily_leaves_x_to_blocks_of_one_chunk(tmp_path, monkeypatch, small_chunks):
    """No read of the file's matrix spans more than one chunk of cells, and the blocks
    written by write_h5ad_streamed read back as the in-memory ingest."""
    p = _write(tmp_path / "d.h5ad", _counts(50))
    spans = []
    real = rows_module.H5Rows._range

    def spy(self, start, stop):
        spans.append(stop - start)
        return real(self, start, stop)

    monkeypatch.setattr(rows_module.H5Rows, "_range", spy)
    cols = {"sample": "sample", "patient": None, "condition": "cond"}
    shell, blocks, summary = ingest_lazily(p, dataset="d", columns=cols, options=STREAMED)
    assert shell.X is None and blocks is not None
    write_h5ad_streamed(shell, blocks.blocks(), tmp_path / "out.h5ad")
    assert spans and max(spans) <= 7 and sum(s == 7 for s in spans) >= 7  # whole passes, chunked
    mem, _ = ingest(p, dataset="d", sample_col="sample", condition_col="cond", options=IN_MEMORY)
    write_h5ad_deterministic(mem, tmp_path / "mem.h5ad")  # as the stage writes either
    a, b = (ad.read_h5ad(tmp_path / f) for f in ("mem.h5ad", "out.h5ad"))
    _assert_same((a, json.loads(a.uns["tmesig_ingest"])), (b, summary))


def test_below_the_threshold_the_in_memory_read(tmp_path):
    p = _write(tmp_path / "d.h5ad", _counts())
    cols = {"sample": "sample", "patient": None, "condition": None}
    for above, streamed in ((40, False), (39, True)):
        _, blocks, _ = ingest_lazily(
            p, dataset="d", columns=cols, options=IngestOptions(stream_above=above)
        )
        assert (blocks is not None) is streamed


def test_csc_matrix_read_in_memory(tmp_path):
    p = _write(tmp_path / "csc.h5ad", sp.csc_matrix(_counts()))
    cols = {"sample": "sample", "patient": None, "condition": None}
    m, blocks, _ = ingest_lazily(p, dataset="d", columns=cols, options=STREAMED)
    assert blocks is None and m.X.shape == (40, 10)


@pytest.fixture(scope="module")
def library_genes():
    return {g for gs in load_library(SIGNATURE_FILES) for g in gs.genes}


def _ingest_case(case_dir: Path, root: Path, genes: set[str], stream_above: int | None):
    """Ingest a corpus case as the stage does; the outcome (error text, or data and summary)."""
    sheet = pd.read_csv(case_dir / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    cfg = yaml.safe_load((case_dir / "config.yaml").read_text()) or {}
    row = sheet.iloc[0].to_dict()
    data = [str(root / f) for f in row["path"].split(",")]
    options = IngestOptions.from_config({**(cfg.get("ingest") or {}), "stream_above": stream_above})
    cols = {role: row.get(f"{role}_col") or None for role in ("sample", "patient", "condition")}
    try:
        return ingest(
            data,
            dataset=row["dataset"],
            sample_col=cols["sample"],
            patient_col=cols["patient"],
            condition_col=cols["condition"],
            signature_genes=genes,
            options=options,
        )
    except Exception as err:  # the refusal, whatever its type, must be the same
        return f"{type(err).__name__}: {err}"


@pytest.mark.parametrize("module", [mb, mh], ids=["bad_inputs", "hostile_matrices"])
def test_corpus_refused_or_ingested_alike(
    tmp_path, monkeypatch, small_chunks, library_genes, module
):
    """Every data case of the bad-input corpora gives the same refusal, or the same ingested
    data, read in chunks as in memory (and the chunked read is really taken)."""
    monkeypatch.chdir(tmp_path)
    built = module.make_all(Path("corpus"))
    opened = []
    real_open = ingest_file_module.open_h5ad
    monkeypatch.setattr(ingest_file_module, "open_h5ad", lambda p: opened.append(p) or real_open(p))
    refused = accepted = 0
    for name in built:
        case = tmp_path / "corpus" / name
        sheet = (case / "samples.tsv").read_text() if (case / "samples.tsv").exists() else ""
        if "://" in sheet or "path" not in sheet or not (case / "config.yaml").exists():
            continue  # URL and sheet cases never reach the data (the e2e corpus test runs them)
        try:
            a, b = (_ingest_case(case, tmp_path, library_genes, s) for s in (None, 0))
        except (KeyError, IndexError):
            continue  # a sheet without the columns: refused by the sheet check, before ingest
        if isinstance(a, str):
            assert a == b, name
            refused += 1
        else:
            assert not isinstance(b, str), (name, b)
            _assert_same(a, b)
            accepted += 1
    assert refused >= (6 if module is mh else 25) and accepted >= 8
    assert len(opened) >= 10  # the chunked read ran on the h5ad cases
