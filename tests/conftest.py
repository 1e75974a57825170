"""Shared fixtures: tiny seeded datasets with planted structure."""

import os
import tempfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from tmesig import paths

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "qian2020_ovarian_4k.h5ad"
#: The demo's author labels (obs cell_type) -> compartments, as the shipped config maps them.
QIAN_MAP = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["annotate"][
    "label_mapping"
]
# `import celltypist` creates ~/.celltypist unless CELLTYPIST_FOLDER is set: keep tests off ~.
os.environ.setdefault("CELLTYPIST_FOLDER", tempfile.mkdtemp(prefix="tmesig-celltypist-"))


def train_celltypist_model(
    adata: ad.AnnData, label_col: str, path: Path, *, n_genes: int = 500
) -> Path:
    """Train a small CellTypist model offline (SGD, top HVGs) and write it to ``path``.

    ``adata`` holds raw counts; the model learns ``obs[label_col]`` from log1p(CP10k) of the
    ``n_genes`` most variable genes. (CellTypist 1.7.1's default LogisticRegression path
    passes ``multi_class``, which scikit-learn 1.9 removed; the SGD path works.)
    """
    import celltypist
    import scanpy as sc

    work = adata.copy()
    sc.pp.normalize_total(work, target_sum=1e4)
    sc.pp.log1p(work)
    sc.pp.highly_variable_genes(work, n_top_genes=n_genes)
    work = work[:, work.var["highly_variable"]].copy()
    model = celltypist.train(
        work,
        labels=label_col,
        check_expression=False,
        use_SGD=True,
        n_jobs=1,
        feature_selection=False,
    )
    model.write(str(path))
    return path


def planted_counts(
    *,
    n_per_group: int = 60,
    groups: tuple[str, ...] = ("A", "B", "C"),
    n_genes: int = 300,
    n_markers: int = 15,
    samples: tuple[str, ...] = ("s1", "s2", "s3"),
    seed: int = 0,
) -> ad.AnnData:
    """Poisson counts; group k over-expresses genes [k*n_markers, (k+1)*n_markers) tenfold."""
    rng = np.random.default_rng(seed)
    n = n_per_group * len(groups)
    base = rng.gamma(2.0, 0.5, size=n_genes)
    lam = np.tile(base, (n, 1))
    labels = np.repeat(groups, n_per_group)
    for k in range(len(groups)):
        rows = labels == groups[k]
        lam[np.ix_(rows, np.arange(k * n_markers, (k + 1) * n_markers))] *= 10
    depth = rng.uniform(0.7, 1.3, size=(n, 1))
    x = rng.poisson(lam * depth).astype(np.float32)
    genes = [f"G{i}" for i in range(n_genes)]
    obs = pd.DataFrame(
        {"group": labels, "sample": np.resize(np.array(samples), n)},
        index=[f"c{i}" for i in range(n)],
    )
    a = ad.AnnData(X=sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=genes))
    a.layers["counts"] = a.X.copy()
    return a


@pytest.fixture
def planted() -> ad.AnnData:
    return planted_counts()


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory, request):
    """The small end-to-end run that tests/e2e/test_workflow.py, test_report_browser.py,
    test_resume.py, test_scatter.py and test_slurm.py share: 500 demo cells, a local CellTypist
    model, a fresh HOME (nothing may be written to ~). Returns ``(workdir, data file, terminal
    output)``. When test_slurm.py is in the session, its SLURM run of the same inputs starts
    in the background first (it waits on its cluster most of the time)."""
    from test_workflow import _setup, _snakemake  # tests/e2e is on sys.path for its tests

    tmp = tmp_path_factory.mktemp("e2e")
    data = _setup(tmp, celltypist=True)
    (tmp / "home").mkdir()
    if any(item.path.name == "test_slurm.py" for item in request.session.items):
        from test_slurm import start_in_background, wait_for_background

        start_in_background(tmp, tmp_path_factory.mktemp("slurm"))
        request.addfinalizer(wait_for_background)  # never leave the cluster running
    res = _snakemake(tmp, "--cores", "2", home=tmp / "home")
    assert res.returncode == 0, res.stderr[-4000:]
    return tmp, data, res.stdout + res.stderr


@pytest.fixture(scope="session")
def mini_report(mini_run):
    """The Snakemake report of the shared small run (``snakemake --report``), built once for
    tests/e2e/test_workflow.py and test_report_browser.py. Returns ``(path, terminal output)``."""
    from test_workflow import _snakemake

    tmp = mini_run[0]
    res = _snakemake(tmp, "--report", str(tmp / "report.html"))
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "report.html", res.stdout + res.stderr


#: Cells per group of :func:`planted_cnv` (immune/stromal reference, epithelium, tumour).
CNV_GROUPS = {"T_NK": 150, "myeloid": 150, "fibroblast": 100, "normal_epi": 80, "tumour": 150}


def planted_cnv(seed: int = 0, groups: dict | None = None) -> tuple[ad.AnnData, np.ndarray]:
    """Immune/stromal reference, normal epithelium, and a tumour clone with a gain of
    a chr1 block and a loss of a chr3 block (expression x2 / x0.5), Poisson counts,
    log-normalised; ``groups``: cells per group (default :data:`CNV_GROUPS`). Returns the
    AnnData (``obs["lineage"]``) and the tumour mask."""
    rng = np.random.default_rng(seed)
    table = pd.read_csv(paths.GENE_TABLE, sep="\t")
    table = table[
        (table["biotype"] == "protein_coding")
        & table["chrom"].isin([f"chr{i}" for i in range(1, 7)])
    ]
    table = table.drop_duplicates("gene_name").groupby("chrom").head(250)
    genes = table["gene_name"].to_numpy()
    base = rng.gamma(1.5, 1.0, size=len(genes)) + 0.2
    groups = CNV_GROUPS if groups is None else groups
    blocks, truth, lineage = [], [], []
    gain = (table["chrom"] == "chr1").to_numpy() & (np.arange(len(genes)) % 250 < 200)
    loss = (table["chrom"] == "chr3").to_numpy() & (np.arange(len(genes)) % 250 < 200)
    for g, n in groups.items():
        lam = np.tile(base, (n, 1)) * rng.uniform(0.8, 1.2, size=(n, 1))
        if g == "tumour":
            lam[:, gain] *= 2.0
            lam[:, loss] *= 0.5
        blocks.append(rng.poisson(lam))
        truth += [g == "tumour"] * n
        lineage += ["epithelial" if g in ("normal_epi", "tumour") else g] * n
    counts = sp.csr_matrix(np.vstack(blocks).astype(np.float32))
    lib = np.asarray(counts.sum(axis=1)).ravel()
    adata = ad.AnnData(
        X=sp.csr_matrix(sp.diags(1e4 / lib) @ counts).log1p(),
        obs=pd.DataFrame({"lineage": lineage}, index=[f"c{i}" for i in range(len(truth))]),
        var=pd.DataFrame(index=genes),
    )
    return adata, np.array(truth)
