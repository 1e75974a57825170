"""The real workflow on disguised and mixed matrices built from the demo.

The corpus is generated at test time by ``tests/data/make_hostile_matrices.py``. Every refusal
must stop at ingest: non-zero exit, a message naming the file, the problem and the fix, no
traceback, nothing under ``results/<dataset>/``, the input unchanged, no job after ingest.
Every accepted input is ingested (target: its ingest summary) with the right treatment,
checked against the source counts the generator kept.
"""

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
from conftest import REPO
from tmesig import paths, signatures

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
import make_hostile_matrices as mh

pytestmark = pytest.mark.slow

REFUSED = {c.name: c for c in mh.REFUSALS}
ACCEPTED = {c.name: c for c in mh.ACCEPTED}
SUMMARY = "results/hostile/ingest_summary.json"
#: ingested.h5ad is temp(): a target so that it is kept for the checks below
INGESTED = "results/hostile/ingested.h5ad"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(workdir: Path, *targets: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(workdir / "config.yaml")]
    cmd += ["--cores", "1", *targets]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    built = mh.make_all(root)
    for info in built.values():
        info["before"] = {str(p): _digest(p) for p in [info["data"], *info["also"]]}

    def run(name):  # the ingest outputs as target: every case ends (or fails) there
        return _run(root / name, SUMMARY, INGESTED)

    workers = int(os.environ.get("TMESIG_E2E_WORKERS", "2"))  # 1 on a shared machine
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(built, pool.map(run, built), strict=True))
    return root, built, results


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_at_ingest_cleanly(corpus, name):
    root, built, results = corpus
    case, info, res = REFUSED[name], built[name], results[name]
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert str(info["data"]) in out, f"file not named:\n{out[-3000:]}"
    assert all(p in out for p in case.problem), f"no problem {case.problem}:\n{out[-3000:]}"
    assert any(f in out for f in case.fix), f"no fix {case.fix}:\n{out[-3000:]}"
    assert "Traceback (most recent call last)" not in out, out[-3000:]
    results_dir = root / name / "results" / "hostile"
    left = [p for p in results_dir.rglob("*") if p.is_file()] if results_dir.exists() else []
    assert not left, left
    for p, before in info["before"].items():
        assert _digest(Path(p)) == before, f"{p} changed"
    logs = root / name / "logs"
    assert list(logs.rglob("ingest.log")) and not list(logs.rglob("qc.log"))


def _ingested(corpus, name):
    root, built, results = corpus
    res = results[name]
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    d = root / name
    summary = json.loads((d / SUMMARY).read_text())
    adata = ad.read_h5ad(d / "results" / "hostile" / "ingested.h5ad")
    truth = np.load(d / "truth.npz")["counts"]
    assert "counts" not in adata.layers  # the counts are stored once, in X
    return built[name], summary, adata, truth


def test_multi_file_merged_over_shared_genes_with_honest_notes(corpus):
    info, s, adata, truth = _ingested(corpus, "multi_file_gene_lists_differ")
    library = {g for gs in signatures.load_library(paths.SIGNATURES_DIR) for g in gs.genes}
    dropped = info["dropped"]
    assert len(dropped) > 50 and "HLA-A" in dropped
    assert s["gene_merge"] == "intersection" and s["genes_dropped"] == len(dropped)
    assert s["genes_dropped_list"] == dropped
    assert s["library_genes_lost"] == sorted(set(dropped) & library) and "HLA-A" in library
    assert not set(dropped) & set(adata.var_names)
    np.testing.assert_array_equal(adata.X.toarray(), truth)
    assert any("not measured is not a zero" in n for n in s["notes"])
    assert sorted(adata.obs["sample"].unique()) == ["NR_12", "NR_14", "R_11", "R_13"]


def test_unlogged_cp10k_recovered_to_the_exact_counts(corpus):
    _, s, adata, truth = _ingested(corpus, "cp10k_unlogged")
    assert s["matrix"]["state"] == "normalized" and s["matrix"]["recovered"] is True
    assert any("counts recovered exactly" in n for n in s["notes"])
    np.testing.assert_array_equal(adata.X.toarray(), truth)


def test_ensembl_ids_among_symbols_mapped_gene_by_gene(corpus):
    info, s, adata, truth = _ingested(corpus, "ensembl_mixed_with_symbols")
    ids = s["gene_ids"]
    assert ids["id_type"] == "mixed" and ids["ensembl_ids"] == info["n_ensembl"] > 4000
    assert ids["mapped"] == info["n_ensembl"] and ids["unmapped"] == 0
    assert not adata.var_names.str.startswith("ENSG").any()
    np.testing.assert_array_equal(adata.X.toarray(), truth)


def test_x_none_read_from_the_counts_layer(corpus):
    _, s, adata, truth = _ingested(corpus, "x_none_counts_layer")
    assert s["matrix"]["source"] == "layers/counts" and s["input_mode"] == "counts"
    np.testing.assert_array_equal(adata.X.toarray(), truth)


def test_raw_of_every_gene_recovered_over_the_hvg_counts_layer(corpus):
    _, s, adata, truth = _ingested(corpus, "scanpy_hvg_subset_raw_every_gene")
    assert s["matrix"]["source"] == "raw" and s["matrix"]["recovered"] is True
    assert adata.n_vars == truth.shape[1] > 2000
    np.testing.assert_array_equal(adata.X.toarray(), truth)


def test_r_make_names_spellings_restored(corpus):
    info, s, adata, truth = _ingested(corpus, "r_make_names_gene_names")
    assert {"HLA-A", "HLA-B"} <= set(adata.var_names) and "HLA.A" not in adata.var_names
    assert s["gene_ids"]["names_undotted"] > 0.9 * len(info["dashed"])
    assert not adata.var_names.str.endswith(" ").any()
    np.testing.assert_array_equal(adata.X.toarray(), truth)


def test_cp10k_of_a_gene_subset_recovered_not_taken_for_counts(corpus):
    _, s, adata, truth = _ingested(corpus, "cp10k_top_genes_subset")
    assert s["matrix"]["state"] == "normalized" and s["matrix"]["recovered"] is True
    np.testing.assert_array_equal(adata.X.toarray(), truth)
