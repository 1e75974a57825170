"""Generate the hostile-matrix corpus that tests/e2e/test_hostile_matrices.py runs the workflow on.

Usage: ``python tests/data/make_hostile_matrices.py OUTDIR``. Every case is built from 400 cells
of the demo (``resources/demo/qian2020_ovarian_4k.h5ad``, every 10th cell: 4 samples), so that
it looks like real data, and is deterministic (no random draw without a fixed seed). Each case
is a directory ``OUTDIR/<case>/`` with ``samples.tsv``, ``config.yaml`` and its data.

Refusals (:data:`REFUSALS`) must stop at ingest naming the file, the problem and the fix;
accepted inputs (:data:`ACCEPTED`) must be ingested with the right treatment, which the test
checks against the source counts kept in ``truth.npz``.
"""

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo" / "qian2020_ovarian_4k.h5ad"
GENE_TABLE = REPO / "resources" / "genes" / "grch38_genes.tsv"


@dataclass
class Case:
    """One input: how to build it and, for a refusal, the words its message must contain."""

    name: str
    build: Callable[[Path], dict]
    problem: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    names: str = "data"  # what a refusal must name: "data" (the file) or "config"


@functools.cache
def _demo(step: int) -> ad.AnnData:
    return ad.read_h5ad(DEMO)[::step].copy()


def demo(step: int = 10) -> ad.AnnData:
    """Every ``step``-th cell of the demo: integer counts, obs ``sample`` and ``cell_type``."""
    a = _demo(step).copy()
    a.X = sp.csr_matrix(a.X, dtype=np.float32)
    a.obs = a.obs[["sample", "cell_type"]].copy()
    a.obs["sample"] = a.obs["sample"].astype(str)
    del a.obsm
    return a


def _cp10k(x: sp.spmatrix) -> sp.csr_matrix:
    x = sp.csr_matrix(x, dtype=np.float64)
    return sp.csr_matrix(sp.diags(1e4 / np.asarray(x.sum(axis=1)).ravel()) @ x)


def _write(d: Path, a: ad.AnnData | list[ad.AnnData], *, row: dict | None = None, config=None):
    """Write the data file(s), a one-row sheet and a light config; return ``{"data": ...}``."""
    files = a if isinstance(a, list) else [a]
    names = [f"data{i}.h5ad" for i in range(len(files))] if len(files) > 1 else ["data.h5ad"]
    if isinstance(a, list):
        names = [f"{k}.h5ad" for k in row.pop("labels")]
    paths = [d / n for n in names]
    for f, p in zip(files, paths, strict=True):
        f.write_h5ad(p)
    sheet = {"dataset": "hostile", "path": ",".join(map(str, paths)), "sha256": ""}
    sheet.update(sample_col="sample", patient_col="", condition_col="", label_col="cell_type")
    sheet.update(row or {})
    pd.DataFrame([sheet]).to_csv(d / "samples.tsv", sep="\t", index=False)
    cfg = {"samples": str(d / "samples.tsv"), "qc": {"doublets": False, "min_genes": 5}}
    for section, values in (config or {}).items():
        cfg.setdefault(section, {}).update(values)
    (d / "config.yaml").write_text(yaml.safe_dump(cfg))
    return {"data": paths[0], "also": paths[1:]}


def _truth(d: Path, x: sp.spmatrix) -> None:
    np.savez_compressed(d / "truth.npz", counts=sp.csr_matrix(x).toarray().astype(np.float32))


# ---- refusals ---------------------------------------------------------------------------


def _mixed_log(d: Path) -> dict:
    a = demo()
    log = _cp10k(a.X)
    log.data = np.log1p(log.data)
    half = np.arange(a.n_obs) % 2 == 1  # every other cell log1p(CP10k): every sample mixed
    a.X = sp.csr_matrix(sp.vstack([a.X[i] if not half[i] else log[i] for i in range(a.n_obs)]))
    return _write(d, a)


def _rounded_cp10k(d: Path) -> dict:
    a = demo()
    m = _cp10k(a.X)
    m.data = np.round(m.data)
    a.X = sp.csr_matrix(m, dtype=np.float32)
    return _write(d, a)


def _absurd(d: Path) -> dict:
    a = demo()
    x = a.X.toarray().astype(np.float64)  # float64: 1e39 is finite here, inf in float32
    x[[0, 70, 140, 210, 280, 350], 100] = 1e39
    a.X = sp.csr_matrix(x)
    return _write(d, a)


def _sample_nan(d: Path) -> dict:
    a = demo()
    s = a.obs["sample"].to_numpy().copy()
    s[:5], s[5:9] = "nan", ""
    a.obs["sample"] = s
    return _write(d, a)


def _condition_varies(d: Path) -> dict:
    a = demo()
    a.obs["response"] = np.where(np.arange(a.n_obs) % 2 == 0, "R", "NR")
    return _write(d, a, row={"condition_col": "response"})


def _numeric_genes(d: Path) -> dict:
    a = demo()
    a.var_names = [str(i) for i in range(a.n_vars)]
    return _write(d, a)


def _label_col_typo(d: Path) -> dict:
    return _write(d, demo(), row={"label_col": "celltype"})


def _three_conditions(d: Path) -> dict:
    a = demo()
    arm = {s: c for s, c in zip(sorted(a.obs["sample"].unique()), "ABCA", strict=True)}
    a.obs["arm"] = a.obs["sample"].map(arm).to_numpy()
    return _write(d, a, row={"condition_col": "arm"})


def _contrast_absent(d: Path) -> dict:
    a = demo()
    resp = {s: c for s, c in zip(sorted(a.obs["sample"].unique()), ["R", "NR"] * 2, strict=True)}
    a.obs["response"] = a.obs["sample"].map(resp).to_numpy()
    config = {"conditions": {"reference": "responder", "test": "non-responder"}}
    return _write(d, a, row={"condition_col": "response"}, config=config)


def _condition_case_split(d: Path) -> dict:
    """'R', 'r' and 'NR ': three levels to the eye of a string compare, two in truth."""
    a = demo()
    resp = {
        s: c for s, c in zip(sorted(a.obs["sample"].unique()), ["R", "NR ", "r", "NR"], strict=True)
    }
    a.obs["response"] = a.obs["sample"].map(resp).to_numpy()
    return _write(d, a, row={"condition_col": "response"})


def _author_labels_unmapped(d: Path) -> dict:
    """use_author_labels with a mapping that misses 'Endothelial' and has 'T cell' for 'T_cell'."""
    mapping = {"Epithelial": "epithelial", "Fibroblast": "fibroblast", "Macrophage": "myeloid"}
    mapping.update({"T cell": "T_NK", "B_cell": "B_plasma"})
    config = {"annotate": {"use_author_labels": True, "label_mapping": mapping}}
    return _write(d, demo(), config=config)


def _batch_key_absent(d: Path) -> dict:
    return _write(d, demo(), config={"cluster": {"batch_key": "batch"}})


# ---- accepted ---------------------------------------------------------------------------


def _multi_file_gene_lists_differ(d: Path) -> dict:
    """The same tumours as 'R' and 'NR' files; the NR files lack HLA and ribosomal genes."""
    a = demo()
    samples = sorted(a.obs["sample"].unique())
    drop = a.var_names.str.match(r"^(HLA-|RPL|RPS)")
    parts, labels, kept = [], [], []
    for s, arm in zip(samples, ["R", "NR", "R", "NR"], strict=True):
        part = a[a.obs["sample"] == s].copy()
        kept.append(part[:, ~drop].X)
        parts.append(part[:, ~drop].copy() if arm == "NR" else part)
        labels.append(f"{arm}_{s}")
    _truth(d, sp.vstack(kept))
    info = _write(d, parts, row={"labels": labels, "sample_col": ""})
    info["dropped"] = sorted(a.var_names[drop])
    return info


def _cp10k_unlogged(d: Path) -> dict:
    a = demo()
    _truth(d, a.X)
    a.X = sp.csr_matrix(_cp10k(a.X), dtype=np.float32)
    return _write(d, a)


def _mixed_ids(d: Path) -> dict:
    a = demo()
    table = pd.read_csv(GENE_TABLE, sep="\t", usecols=["gene_id", "gene_name"]).dropna()
    ids = table.drop_duplicates("gene_name").set_index("gene_name")["gene_id"]
    ids = ids[~ids.index.duplicated()]
    unique = set(table["gene_name"].value_counts().loc[lambda c: c == 1].index)
    names = list(a.var_names)
    n = 0
    for i, g in enumerate(names):
        if i % 20 < 9 and g in unique and g in ids.index:  # ~45% as Ensembl, some versioned
            names[i] = ids[g] + (".7" if i % 2 else "")
            n += 1
    a.var_names = names
    _truth(d, a.X)
    info = _write(d, a)
    info["n_ensembl"] = n
    return info


def _x_none(d: Path) -> dict:
    a = demo()
    _truth(d, a.X)
    b = ad.AnnData(X=None, obs=a.obs.copy(), var=pd.DataFrame(index=a.var_names))
    b.layers["counts"] = a.X
    return _write(d, b)


def _scanpy_hvg_raw(d: Path) -> dict:
    """scanpy's order: layers['counts'] = X, log1p(CP10k), raw = adata, 2,000 HVGs, scaled."""
    a = demo()
    _truth(d, a.X)
    full = a.copy()
    full.X = _cp10k(a.X)
    full.X.data = np.log1p(full.X.data)
    b = full[:, :2000].copy()
    b.raw = full
    b.layers["counts"] = a.X[:, :2000]
    x = b.X.toarray()
    b.X = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    return _write(d, b)


def _r_names(d: Path) -> dict:
    """Gene names through R's make.names (HLA-A -> HLA.A) and a stray space on some."""
    a = demo()
    _truth(d, a.X)
    dashed = [g for g in a.var_names if "-" in g]
    a.var_names = [
        g.replace("-", ".") + (" " if i % 7 == 0 else "") for i, g in enumerate(a.var_names)
    ]
    info = _write(d, a)
    info["dashed"] = dashed
    return info


def _cp10k_top_genes(d: Path) -> dict:
    """CP10k of every gene, then the 150 most expressed kept: a few cells' smallest value is
    2 counts (no gene seen once among those kept)."""
    a = demo()
    top = np.sort(np.argsort(-np.asarray(a.X.sum(axis=0)).ravel())[:150])
    _truth(d, a.X[:, top])
    b = a[:, top].copy()
    b.X = sp.csr_matrix(_cp10k(a.X)[:, top], dtype=np.float32)
    return _write(d, b)


P_EXPORT = ("export",)
#: Inputs that must be refused at ingest.
REFUSALS: list[Case] = [
    Case("mixed_counts_and_log", _mixed_log, ("mixes scales",), ("export the raw counts",)),
    Case("rounded_cp10k", _rounded_cp10k, ("CP10k",), ("raw UMI/read counts",)),
    Case("absurd_values_1e39", _absurd, ("absurdly large", "6 cell(s)"), ("re-export",)),
    Case("sample_labels_nan", _sample_nan, ("without a label",), ("sample_col",)),
    Case("condition_varies_in_sample", _condition_varies, ("varies within",), ("condition_col",)),
    Case("numeric_gene_names", _numeric_genes, ("gene names are numbers",), ("var_names",)),
    Case("label_col_typo", _label_col_typo, ("'celltype'",), ("fix label_col",)),
    Case("three_condition_levels", _three_conditions, ("3 levels",), ("conditions.reference",)),
    Case("contrast_levels_absent", _contrast_absent, ("not in the data",), ("fix the config",)),
    Case("batch_key_absent", _batch_key_absent, ("cluster.batch_key",), ("or null",)),
    Case(
        "author_labels_not_in_the_mapping",
        _author_labels_unmapped,
        ("2 of the 6 labels of label_col 'cell_type'", "'Endothelial', 'T_cell'"),
        ("in annotate.label_mapping",),
    ),
    Case(
        "condition_levels_differ_in_case",
        _condition_case_split,
        ("differ only in letter case", "'R' / 'r'"),
        ("same way in the data",),
    ),
]
#: Inputs that must be ingested (the test checks the treatment).
ACCEPTED: list[Case] = [
    Case("multi_file_gene_lists_differ", _multi_file_gene_lists_differ),
    Case("cp10k_unlogged", _cp10k_unlogged),
    Case("ensembl_mixed_with_symbols", _mixed_ids),
    Case("x_none_counts_layer", _x_none),
    Case("scanpy_hvg_subset_raw_every_gene", _scanpy_hvg_raw),
    Case("r_make_names_gene_names", _r_names),
    Case("cp10k_top_genes_subset", _cp10k_top_genes),
]


def make_all(root: Path) -> dict[str, dict]:
    """Build every case under ``root``; return ``{case: info}``."""
    out = {}
    for case in REFUSALS + ACCEPTED:
        d = root / case.name
        d.mkdir(parents=True, exist_ok=True)
        out[case.name] = case.build(d)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_matrices")
    print(f"{len(make_all(target))} cases written under {target}")
