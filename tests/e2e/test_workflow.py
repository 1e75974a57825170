"""End-to-end: the Snakemake workflow on a few hundred real cells, in a temporary directory."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import yaml
from conftest import DEMO, QIAN_MAP, REPO, train_celltypist_model
from statsmodels.stats.multitest import multipletests
from tmesig import signatures
from tmesig.subsets import load_subset_markers
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

#: The files of the test dataset, from the same object that makes rule all's targets.
PATHS = WorkflowPaths(datasets=("mini",), conditioned=("mini",))  # the sheet names condition_col
OUTPUTS = PATHS.dataset_outputs("mini")


def _mini(workdir: Path, name: str) -> Path:
    """A named file of the test dataset, e.g. ``_mini(tmp, "flags")``."""
    return workdir / getattr(PATHS, name).format(dataset="mini")


def _snakemake(workdir: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--workflow-profile",  # as the README's run command (a later --workflow-profile wins)
        str(REPO / "workflow" / "profiles" / "default"),
        *args,
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if home is not None:  # a fresh HOME and no CELLTYPIST_FOLDER: the workflow must not write to ~
        env["HOME"] = str(home)
        env.pop("CELLTYPIST_FOLDER", None)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)


def _subsample(path: Path, *, per_sample: int, seed: int = 0) -> None:
    a = ad.read_h5ad(DEMO)
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(a.obs["sample"] == s), per_sample, replace=False)
            for s in a.obs["sample"].cat.categories
        ]
    )
    sub = a[np.sort(keep)].copy()
    # two arms of two samples each: too few patients for a test, which the outputs must say
    sub.obs["arm"] = sub.obs["sample"].astype(str).map({"11": "A", "12": "A", "13": "B", "14": "B"})
    sub.write_h5ad(path)


def _setup(tmp: Path, *, sample_col="sample", per_sample=125, celltypist=False) -> Path:
    data = tmp / "tumour.h5ad"
    _subsample(data, per_sample=per_sample)
    pd.DataFrame(
        {
            "dataset": ["mini"],
            "path": [str(data)],
            "sha256": [""],
            "sample_col": [sample_col],
            "patient_col": [""],
            "condition_col": ["arm"],
            "label_col": ["cell_type"],
        }
    ).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "qc": {"min_cells_doublets": 100},
        "cluster": {"n_pcs": 20},
        "enrichment": {"permutation_num": 100},
        "flag": {"n_null": 200},
    }
    if celltypist:  # a local model trained offline on the demo's author labels
        model = train_celltypist_model(ad.read_h5ad(DEMO), "cell_type", tmp / "qian_model.pkl")
        cfg["annotate"] = {
            "celltypist_model": "qian_model.pkl",
            "celltypist_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
            "celltypist_mapping": QIAN_MAP,
        }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    return data


@pytest.fixture(scope="module")
def run(mini_run):
    """The shared small run (tests/conftest.py ``mini_run``): workdir and data file."""
    return mini_run[0], mini_run[1]


def test_every_named_output_exists(run):
    tmp, _ = run
    assert len(OUTPUTS) == 61 and set(PATHS.targets()) <= {*OUTPUTS, *PATHS.targets()[:2]}
    temp = {PATHS.ingested.format(dataset="mini")}  # temp(): removed once read
    for name in [*OUTPUTS, *PATHS.targets()]:
        p = tmp / name
        assert (not p.exists()) if name in temp else (p.exists() and p.stat().st_size > 0), name
    assert (tmp / PATHS.library_gmt).exists()
    for rule in ("ingest", "qc", "cluster", "annotate", "states", "score", "flag", "figures"):
        assert (tmp / PATHS.benchmark(rule).format(dataset="mini")).exists()


def test_outputs_make_sense(run):
    tmp, data = run
    cl = ad.read_h5ad(_mini(tmp, "clustered"))
    metrics = pd.read_csv(_mini(tmp, "qc_metrics"), sep="\t", index_col=0)
    assert len(metrics) == 500 and metrics["kept"].sum() == cl.n_obs
    ann = pd.read_csv(_mini(tmp, "annotation"), sep="\t", index_col=0)
    assert list(ann.index) == list(cl.obs_names)
    found = set(ann["compartment"]) - {"unassigned"}
    assert {"epithelial", "fibroblast", "myeloid"} <= found and len(found) >= 4
    # the compartment calls agree with the authors' labels for most cells
    author = cl.obs["orig_cell_type"].map(QIAN_MAP)
    assert (author.to_numpy() == ann["compartment"].to_numpy()).mean() > 0.8
    scores = pd.read_parquet(_mini(tmp, "scores"))
    assert list(scores.index) == list(cl.obs_names) and np.isfinite(scores.to_numpy()).all()
    cov = pd.read_csv(_mini(tmp, "coverage"), sep="\t").set_index("set")
    lib = signatures.load_library()
    assert set(cov.index) == {gs.name for gs in lib}
    genes = set(cl.var_names)
    for gs in lib:  # coverage recomputed independently from the clustered data
        n = sum(g in genes for g in gs.genes)
        assert cov.loc[gs.name, "n_found"] == n
        # scored: at least score.min_genes (3) genes found and half of the set
        assert bool(cov.loc[gs.name, "scored"]) == (n / len(gs.genes) >= 0.5 and n >= 3)
    assert set(scores.columns) == set(cov.index[cov["scored"]])
    assert not cov.loc["cd274_pdl1", "scored"]  # CD274 is not in this dataset: reported, not scored
    flags = pd.read_csv(_mini(tmp, "flags"), sep="\t")
    assert set(flags["set"]) == set(scores.columns)
    assert (flags["n_samples"] <= 4).all() and flags.loc[flags["p"].notna(), "n_samples"].min() >= 3
    comps = pd.read_csv(_mini(tmp, "compartments"), sep="\t")
    assert comps.loc[comps["level"] == "lineage", "n_cells"].sum() == cl.n_obs
    cond = pd.read_csv(_mini(tmp, "conditions"), sep="\t")
    assert (cond["reference"] == "A").all() and (cond["test"] == "B").all()
    assert (cond["design"] == "insufficient").all() and cond["p"].isna().all()
    assert cond["note"].str.contains("fewer than 3 patients").all()
    by_patient = pd.read_csv(_mini(tmp, "composition_by_patient"), sep="\t")
    lin = by_patient[by_patient["level"] == "lineage"]
    sums = lin.groupby(["patient", "condition"])["fraction"].sum()
    # state shares split each denominator (lineage or parent subset) completely
    st = by_patient[(by_patient["level"] == "state") & (by_patient["n_total"] > 0)]
    assert np.allclose(st.groupby(["denominator", "patient", "condition"])["fraction"].sum(), 1)
    assert np.allclose(sums, 1.0) and set(by_patient["patient"].astype(str)) == {
        "11",
        "12",
        "13",
        "14",
    }
    agree = pd.read_csv(_mini(tmp, "label_agreement"), sep="\t", index_col=0)
    assert agree.loc["All", "All"] == cl.n_obs and "Epithelial" in agree.columns
    sub = pd.read_csv(_mini(tmp, "annotation_subsets"), sep="\t", index_col=0)
    assert list(sub.index) == list(cl.obs_names)
    assert set(sub["cnv_call"]) <= {"malignant", "non-malignant", "uncertain"}
    # malignant calls come from epithelial cells, or carry a note saying why not
    mal = sub[sub["cnv_call"] == "malignant"]
    assert ((mal["lineage"] == "epithelial") | mal["note"].fillna("").str.len().gt(0)).all()
    assert (sub.loc[sub["cnv_call"] == "malignant", "final_subset"] == "malignant").all()
    # T/NK subsets only inside the T/NK lineage
    t_subsets = {
        "CD8_T",
        "CD8_effector_memory",
        "CD8_exhausted",
        "CD4_T",
        "CD4_conventional",
        "Treg",
        "NK",
        "MAIT",
    }
    assert (sub.loc[sub["final_subset"].isin(t_subsets), "lineage"] == "T_NK").all()
    enr = pd.read_csv(_mini(tmp, "enrichment"), sep="\t")
    assert set(enr["collection"]) == {"tmesig", "hallmark"}
    assert set(enr["group"]) <= found
    # interferon-gamma response genes (HLA class II, STAT1...) rank high in macrophages
    t = enr[(enr["group"] == "myeloid") & (enr["term"] == "HALLMARK_INTERFERON_GAMMA_RESPONSE")]
    assert len(t) == 1 and t["nes"].iloc[0] > 0


def test_genes_shown_as_genes(run):
    """genes.tsv: card genes and the genes of unscored small sets, by lineage (and state)."""
    tmp, _ = run
    cl = ad.read_h5ad(_mini(tmp, "clustered"))
    ann = pd.read_csv(_mini(tmp, "annotation"), sep="\t", index_col=0)
    cov = pd.read_csv(_mini(tmp, "coverage"), sep="\t").set_index("set")
    genes = pd.read_csv(_mini(tmp, "genes"), sep="\t")
    lib = {gs.name: gs for gs in signatures.load_library()}
    shown = set(genes["gene"])
    assert set(signatures.card_genes(lib.values())) <= shown
    few = cov.index[cov["reason"].fillna("").str.contains("min_genes")]
    assert "lag3_fgl1" in few and all(set(lib[s].genes) <= shown for s in few)
    # CD274 is not in this dataset: not measured, no value, never zero
    cd274 = genes[genes["gene"] == "CD274"]
    assert len(cd274) and not cd274["measured"].any() and cd274["mean"].isna().all()
    # LAG3 mean in T_NK recomputed independently from the stored counts of clustered.h5ad
    # (scanpy's normalize_total to 10,000 + log1p, the README's normalisation)
    assert cl.uns["tmesig_expression"]["x"] == "stored"
    sc.pp.normalize_total(cl, target_sum=1e4)
    sc.pp.log1p(cl)
    t_nk = (ann.loc[cl.obs_names, "compartment"] == "T_NK").to_numpy()
    expected = float(np.asarray(cl[t_nk, "LAG3"].X.todense()).mean())
    row = genes[(genes["level"] == "lineage") & (genes["compartment"] == "T_NK")]
    row = row[row["gene"] == "LAG3"].iloc[0]
    assert row["n_cells"] == t_nk.sum() and abs(row["mean"] - expected) < 1e-6
    assert set(genes["level"]) <= {"lineage", "state"} and "unassigned" not in set(
        genes["compartment"]
    )


def test_states_and_two_level_flags(run):
    """annotation.tsv = the lineage table + the cell state, recomputed here from
    annotation_subsets.tsv and subsets.yaml; flags.tsv has both levels, BH per level."""
    tmp, _ = run
    ann = pd.read_csv(_mini(tmp, "annotation"), sep="\t", index_col=0)
    lin = pd.read_csv(_mini(tmp, "annotation_lineages"), sep="\t", index_col=0)
    sub = pd.read_csv(_mini(tmp, "annotation_subsets"), sep="\t", index_col=0).loc[ann.index]
    pd.testing.assert_frame_equal(ann[lin.columns], lin)
    epi = ann["compartment"] == "epithelial"
    cnv = sub["cnv_call"].map({"malignant": "malignant", "non-malignant": "normal_epithelium"})
    expected = sub["cell_subset"].where(~epi, cnv.fillna("unassigned"))
    expected[sub["cnv_call"] == "malignant"] = "malignant"
    assert (ann["state"] == expected).all()
    parents = {s.name: s.lineage for s in load_subset_markers().subsets}
    parents |= {"malignant": "epithelial", "normal_epithelium": "epithelial"}
    assigned = ann["state"] != "unassigned"
    assert (ann.loc[assigned, "parent"] == ann.loc[assigned, "state"].map(parents)).all()
    assert (ann.loc[~assigned, "parent"] == ann.loc[~assigned, "compartment"]).all()
    assert {"malignant", "CAF", "macrophage"} <= set(ann["state"])
    flags = pd.read_csv(_mini(tmp, "flags"), sep="\t")
    assert set(flags["level"]) == {"lineage", "state"}
    lineage = flags[flags["level"] == "lineage"]
    assert (lineage["parent"] == lineage["compartment"]).all()
    states = flags[flags["level"] == "state"]
    assert set(states["compartment"]) <= set(ann["state"]) - {"unassigned"}
    assert (states["parent"] == states["compartment"].map(parents)).all()
    for _, grp in flags.dropna(subset=["p"]).groupby(["level", "family"]):
        expected = multipletests(grp["p"], method="fdr_bh")[1]
        np.testing.assert_allclose(grp["fdr"], expected, rtol=1e-5)  # written as %.6g
    cov = pd.read_csv(_mini(tmp, "coverage"), sep="\t").set_index("set")
    assert (flags["n_genes_found"] == flags["set"].map(cov["n_found"])).all()
    assert (flags["n_genes"] == flags["set"].map(cov["n_genes"])).all()


def test_celltypist_labels_beside_ours(run):
    """A local CellTypist model: labels in annotation.tsv, an agreement table, nothing in ~."""
    tmp, _ = run
    ann = pd.read_csv(_mini(tmp, "annotation"), sep="\t", index_col=0)
    assert {"celltypist_label", "celltypist_confidence"} <= set(ann.columns)
    assert set(ann["celltypist_label"]) <= set(QIAN_MAP)
    table = pd.read_csv(_mini(tmp, "celltypist_agreement"), sep="\t", index_col=0)
    assert table.loc["All", "All"] == len(ann)
    # agreement recomputed from the per-cell columns: our calls vs mapped CellTypist labels
    agree = (ann["celltypist_label"].map(QIAN_MAP) == ann["compartment"]).mean()
    assert agree > 0.8
    log = tmp / PATHS.log("annotate").format(dataset="mini")
    assert "agreement with CellTypist" in log.read_text()
    assert not (tmp / "home" / ".celltypist").exists()


def test_missing_celltypist_model_is_refused(tmp_path):
    _setup(tmp_path, per_sample=20)
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["annotate"] = {"celltypist_model": "models/Immune_All_Low.pkl"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(tmp_path, "-n")
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert (
        "models/Immune_All_Low.pkl" in out
        and "never downloads" in out
        and "celltypist_model" in out
    )
    assert not (tmp_path / "results").exists()


def test_report_builds(mini_report):
    html = mini_report[0].read_text(errors="ignore")
    for name in (
        "umap_compartment.png",
        "dotplot_card_genes.png",
        "flags.tsv",
        "coverage.tsv",
        "qc_summary.tsv",
    ):
        assert name in html


def test_lint_is_clean():
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True
    )
    assert res.returncode == 0 and "Congratulations" in res.stdout + res.stderr, res.stdout[-3000:]


def test_bad_sheet_fails_cleanly(tmp_path):
    data = _setup(tmp_path, sample_col="no_such_column", per_sample=20)
    before = data.read_bytes()
    res = _snakemake(tmp_path, "--cores", "1")
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert str(data) in out and "no_such_column" in out and "sample_col" in out
    assert not any(_mini(tmp_path, "clustered").parent.glob("**/*.*"))
    assert data.read_bytes() == before


def test_rule_all_requests_the_target_list(tmp_path):
    """Rule all's inputs are WorkflowPaths.targets(), the list the tests check."""
    _setup(tmp_path, per_sample=20)
    res = _snakemake(tmp_path, "-n", "-F", "--workflow-profile", "none")
    assert res.returncode == 0, res.stderr[-3000:]
    lines = (res.stdout + res.stderr).splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip() in ("rule all:", "localrule all:"))
    requested = lines[i + 1].strip().removeprefix("input: ").split(", ")
    assert requested == PATHS.targets()
