"""End-to-end: a log-normalised-only dataset and a targeted panel run through the workflow.

* normalised: 400 demo cells as log1p(CP10k) rounded to 3 decimals (as a GEO text export: the
  counts cannot be recovered), no counts, ``ingest.input_mode: normalised``;
* panel: 400 demo cells restricted to 400 genes (immune, stromal and epithelial candidates
  plus random genes), raw counts, ``input_mode: auto`` (detected from the gene count).

Both must run to the end, lose no cell to QC artefacts (no MAD-0 threshold, no doublet
screening on values it cannot use) and say the input mode in every table this stage set
writes (QC, annotation, coverage, enrichment). The two runs are independent and mostly one
job at a time (a chain of stages): they run side by side.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import DEMO
from sklearn.metrics import f1_score
from tmesig import annotate, signatures
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

PATHS = WorkflowPaths(datasets=("mini",))


def _out(workdir, name):
    return workdir / getattr(PATHS, name).format(dataset="mini")


def _cells(per_sample: int, seed: int = 0):
    import anndata as ad

    a = ad.read_h5ad(DEMO)
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(a.obs["sample"] == s), per_sample, replace=False)
            for s in a.obs["sample"].cat.categories
        ]
    )
    return a[np.sort(keep)].copy()


def _panel_genes(var_names, *, size: int = 400, seed: int = 0) -> list[str]:
    """A panel as vendors build them: part of the lineage candidates and library genes, then
    random genes (no gene list tuned to the demo)."""
    rng = np.random.default_rng(seed)
    cand = annotate.load_markers(annotate.PANEL_MARKERS)
    lib = {g for gs in signatures.load_library() for g in gs.genes}
    pool = sorted(({g for v in cand.values() for g in v} | lib) & set(var_names))
    genes = list(rng.choice(pool, min(len(pool), size // 2), replace=False))
    rest = sorted(set(var_names) - set(genes))
    genes += list(rng.choice(rest, size - len(genes), replace=False))
    return sorted(genes)


def _write_run(tmp, adata, *, input_mode: str):
    data = tmp / "data.h5ad"
    adata.write_h5ad(data)
    pd.DataFrame(
        {
            "dataset": ["mini"],
            "path": [str(data)],
            "sha256": [""],
            "sample_col": ["sample"],
            "patient_col": [""],
            "condition_col": [""],
            "label_col": ["cell_type"],
        }
    ).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "ingest": {"input_mode": input_mode},
        "cluster": {"n_pcs": 20},
        "enrichment": {"permutation_num": 100},
        "flag": {"n_null": 200},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))


def _run(tmp):
    from test_workflow import _snakemake

    res = _snakemake(tmp, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    return tmp


def _normalised(tmp):
    a = _cells(100)
    x = sp.csr_matrix(a.X, dtype=np.float64)
    x = sp.diags(1e4 / np.asarray(x.sum(axis=1)).ravel()) @ x
    x.data = np.round(np.log1p(x.data), 3)
    a.X = sp.csr_matrix(x, dtype=np.float32)
    a.obsm.clear()
    _write_run(tmp, a, input_mode="normalised")
    return a


#: An imaging panel's control features added to the panel (removed at ingest).
CONTROLS = [f"Blank-{i}" for i in range(20)] + [f"NegControlProbe_{i:05d}" for i in range(6)]


def _panel(tmp):
    import anndata as ad

    a = _cells(100)
    a = a[:, _panel_genes(a.var_names)].copy()
    a.obsm.clear()
    rng = np.random.default_rng(7)
    noise = sp.csr_matrix(rng.poisson(0.05, size=(a.n_obs, len(CONTROLS))).astype(np.float32))
    with_controls = ad.concat(
        [a, ad.AnnData(X=noise, obs=a.obs[[]], var=pd.DataFrame(index=CONTROLS))],
        axis=1,
        merge="first",
    )
    with_controls.obs = a.obs.copy()
    _write_run(tmp, with_controls, input_mode="auto")
    return a


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both runs, side by side: ``{mode: (workdir, the given AnnData)}``."""
    dirs = {mode: tmp_path_factory.mktemp(mode) for mode in ("normalised", "panel")}
    given = {"normalised": _normalised(dirs["normalised"]), "panel": _panel(dirs["panel"])}
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(dirs, pool.map(_run, dirs.values()), strict=True))
    return {mode: (done[mode], given[mode]) for mode in dirs}


@pytest.fixture(scope="module")
def normalised_run(runs):
    return runs["normalised"]


@pytest.fixture(scope="module")
def panel_run(runs):
    return runs["panel"]


def _tables_say(tmp, mode):
    summary = pd.read_csv(_out(tmp, "qc_summary"), sep="\t")
    assert (summary["input_mode"] == mode).all()
    for name in ("annotation", "annotation_clusters", "coverage", "enrichment"):
        table = pd.read_csv(_out(tmp, name), sep="\t")
        assert (table["input_mode"] == mode).all(), name
    return summary


def test_normalised_input_runs_and_says_so(normalised_run):
    import anndata as ad

    tmp, given = normalised_run
    summary = _tables_say(tmp, "normalised")
    metrics = pd.read_csv(_out(tmp, "qc_metrics"), sep="\t", index_col=0)
    # every cell has the same CP10k total: no count rule, no doublet screening, no cell lost
    assert summary["count_filter"].str.startswith("skipped: input normalised").all()
    assert summary["doublets"].str.startswith("skipped: input normalised").all()
    assert metrics["total_counts"].isna().all() and metrics["kept"].all()
    # genes detected, counted independently from the given matrix
    assert (metrics["n_genes"].to_numpy() == np.diff(sp.csr_matrix(given.X).indptr)).all()
    cl = ad.read_h5ad(_out(tmp, "clustered"))
    assert cl.n_obs == given.n_obs and cl.uns["tmesig_cluster"]["input_mode"] == "normalised"
    # clustering used the given values: X is the input matrix, not re-normalised (genes
    # that ingest renamed from older symbols left out of the comparison)
    common = cl.var_names.intersection(given.var_names)
    assert len(common) > 0.9 * cl.n_vars
    x_given = given[cl.obs_names, common].X
    assert abs(cl[:, common].X - x_given).max() < 1e-6
    ann = pd.read_csv(_out(tmp, "annotation"), sep="\t", index_col=0)
    assert {"epithelial", "fibroblast", "myeloid"} <= set(ann["compartment"])


def test_panel_input_runs_and_says_so(panel_run):
    import anndata as ad

    tmp, given = panel_run
    summary = _tables_say(tmp, "panel")
    # the genes floor scaled to the panel: ceil(2% of 400 genes) = 8, not 200
    assert (summary["min_genes_floor"] == 8).all()
    assert summary["doublets"].str.startswith("skipped: targeted panel").all()
    metrics = pd.read_csv(_out(tmp, "qc_metrics"), sep="\t", index_col=0)
    assert metrics["kept"].mean() >= 0.98
    cl = ad.read_h5ad(_out(tmp, "clustered"))
    info = cl.uns["tmesig_cluster"]
    assert info["input_mode"] == "panel" and bool(cl.var["highly_variable"].all())
    # the imaging controls were removed at ingest, counted, and said on the findings page
    ingest = json.loads(_out(tmp, "ingest_summary").read_text())
    assert ingest["matrix"]["control_features"]["removed"] == len(CONTROLS)
    assert not set(CONTROLS) & set(cl.var_names) and ingest["genes"] == given.n_vars
    page = _out(tmp, "summary_md").read_text()
    assert f"{len(CONTROLS)} control features removed by name" in page
    assert info["n_pcs"] <= max(2, cl.n_vars // 10)
    ann = pd.read_csv(_out(tmp, "annotation"), sep="\t", index_col=0)
    author = cl.obs["orig_cell_type"].astype(str)
    called = ann["compartment"] != "unassigned"
    mapping = yaml.safe_load(open(DEMO.parents[2] / "config" / "config.yaml"))["annotate"][
        "label_mapping"
    ]
    # the issue's goal, macro-F1 >= 0.8 against the authors' labels (unassigned counts as a
    # miss), and most calls agree with them
    truth = author.map(mapping).reindex(ann.index)
    macro = f1_score(truth, ann["compartment"], labels=sorted(set(truth)), average="macro")
    assert macro >= 0.8, macro
    assert (ann.loc[called, "compartment"] == truth[called]).mean() >= 0.8
    # mast and neutrophil (absent from the demo) have few markers on this panel and no
    # cells: said to be absent (a marker singled out by a cluster) or not callable (singled
    # out by none, then label_col is suggested); a lineage called from fewer than 3 markers
    # is pointed to the sheet's label_col
    found = pd.read_csv(_out(tmp, "annotation_markers"), sep="\t", index_col=0)
    for lineage in ("mast", "neutrophil"):
        row = found.loc[lineage]
        assert row["markers_measured"] <= 3 and row["cells_called"] == 0
        if row["markers_used"] >= 1:
            assert "no cluster called" in row["note"]
        else:
            assert "cannot be called" in row["note"] and "label_col" in row["note"]
    few = found[(found["markers_used"] < 3) & (found["cells_called"] > 0)]
    assert few["note"].str.contains("label_col").all()
