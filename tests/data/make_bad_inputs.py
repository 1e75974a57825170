"""Generate the corpus of bad inputs that tests/test_bad_inputs.py runs the workflow on.

Usage: ``python tests/data/make_bad_inputs.py OUTDIR`` (the test fixture calls :func:`make_all`
into a temporary directory; nothing binary is committed). Each case is a directory
``OUTDIR/<case>/`` holding ``samples.tsv``, ``config.yaml`` and its data, and an entry of
:data:`CASES` saying where it must fail and which words the message must contain.

Also home of the small writers the format tests use (:func:`write_10x_h5`,
:func:`write_10x_mtx`, :func:`good_adata`).
"""

import gzip
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp
import yaml

#: Real symbols (several in the signature library) so that good files pass every check.
GENES = [
    "CD274",
    "B2M",
    "NT5E",
    "HAVCR2",
    "LAG3",
    "HLA-A",
    "HLA-B",
    "TAP1",
    "STAT1",
    "IRF1",
    "CXCL9",
    "CXCL10",
    "GZMB",
    "PRF1",
    "CD8A",
    "CD3E",
    "PTPRC",
    "EPCAM",
    "KRT8",
    "COL1A1",
    "DCN",
    "LUM",
    "PECAM1",
    "VWF",
    "CD68",
    "CD14",
    "LYZ",
    "MS4A1",
    "CD79A",
    "ACTB",
    "GAPDH",
    "MALAT1",
    "MT-CO1",
    "MT-ND1",
    "RPL13",
    "RPS18",
    "TMEM173",
    "ARNTL",
    "SLC7A11",
    "IDO1",
]
GOOD_SHA = "0" * 64


def good_adata(*, n_cells: int = 60, genes: list[str] | None = None, seed: int = 0) -> ad.AnnData:
    """Poisson counts, unique barcodes, two samples: a file every stage accepts."""
    genes = list(GENES if genes is None else genes)
    rng = np.random.default_rng(seed)
    x = rng.poisson(3.0, size=(n_cells, len(genes))).astype(np.float32)
    x[:, 0] += 1
    obs = pd.DataFrame(
        {"sample": np.resize(["s1", "s2"], n_cells)},
        index=[f"AAAC{i:06d}-1" for i in range(n_cells)],
    )
    return ad.AnnData(X=sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=genes))


def write_10x_h5(
    path: Path,
    x: sp.spmatrix,
    *,
    barcodes: list[str],
    ids: list[str],
    names: list[str],
    feature_types: list[str] | None = None,
) -> Path:
    """Write a cells × genes matrix in the 10x v3 HDF5 layout (CSC genes × cells)."""
    m = sp.csc_matrix(sp.csr_matrix(x).T.astype(np.int32))
    ft = feature_types or ["Gene Expression"] * len(ids)
    with h5py.File(path, "w") as f:
        g = f.create_group("matrix")
        g.create_dataset("data", data=m.data)
        g.create_dataset("indices", data=m.indices.astype(np.int64))
        g.create_dataset("indptr", data=m.indptr.astype(np.int64))
        g.create_dataset("shape", data=np.array(m.shape, dtype=np.int32))
        g.create_dataset("barcodes", data=np.array(barcodes, dtype="S"))
        fg = g.create_group("features")
        fg.create_dataset("id", data=np.array(ids, dtype="S"))
        fg.create_dataset("name", data=np.array(names, dtype="S"))
        fg.create_dataset("feature_type", data=np.array(ft, dtype="S"))
        fg.create_dataset("genome", data=np.array(["GRCh38"] * len(ids), dtype="S"))
        fg.create_dataset("_all_tag_keys", data=np.array(["genome"], dtype="S"))
    return path


def write_10x_mtx(
    folder: Path,
    x: sp.spmatrix,
    *,
    barcodes: list[str],
    ids: list[str],
    names: list[str],
    gz: bool = True,
) -> Path:
    """Write a 10x v3 matrix directory (matrix.mtx, features.tsv, barcodes.tsv; gzipped or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    opener = gzip.open if gz else open
    with opener(folder / f"matrix.mtx{suffix}", "wb") as fh:
        scipy.io.mmwrite(fh, sp.coo_matrix(sp.csr_matrix(x).T.astype(np.int32)), field="integer")
    with opener(folder / f"features.tsv{suffix}", "wt") as fh:
        for i, n in zip(ids, names, strict=True):
            fh.write(f"{i}\t{n}\tGene Expression\n")
    with opener(folder / f"barcodes.tsv{suffix}", "wt") as fh:
        fh.write("".join(f"{b}\n" for b in barcodes))
    return folder


def external_link_h5ad(path: Path, target: Path) -> Path:
    """A good h5ad whose ``X/data`` is an HDF5 external link into ``target`` (another file)."""
    good_adata().write_h5ad(path)
    with h5py.File(target, "w") as t, h5py.File(path, "r+") as f:
        t.create_dataset("data", data=f["X/data"][()])
        del f["X/data"]
        f["X/data"] = h5py.ExternalLink(str(target), "/data")
    return path


def external_storage_h5ad(path: Path, raw: Path) -> Path:
    """A good h5ad whose ``X/data`` values live in the raw file ``raw`` (HDF5 external storage)."""
    good_adata().write_h5ad(path)
    with h5py.File(path, "r+") as f:
        data = f["X/data"][()]
        raw.write_bytes(data.tobytes())
        del f["X/data"]
        f["X"].create_dataset(
            "data", shape=data.shape, dtype=data.dtype, external=[(str(raw), 0, data.nbytes)]
        )
    return path


def huge_declared_h5ad(path: Path, *, compressed: bool = False) -> Path:
    """A small h5ad with an ``obsm`` array that declares 10^5 × 10^4 float64 (8 GB) it lacks."""
    good_adata().write_h5ad(path)
    shape = (100_000, 10_000)
    with h5py.File(path, "r+") as f:
        kw = {"chunks": (1000, 1000), "compression": "gzip"} if compressed else {}
        d = f["obsm"].create_dataset("X_big", shape=shape, dtype="f8", **kw)
        d.attrs["encoding-type"] = "array"
        d.attrs["encoding-version"] = "0.2.0"
        if compressed:
            d[:1000, :1000] = 1.0  # one chunk written, the rest declared only
    return path


def symlinked_features_mtx(folder: Path, target: Path) -> Path:
    """A 10x directory whose ``features.tsv.gz`` is a symbolic link to ``target`` outside it."""
    a = good_adata()
    write_10x_mtx(folder, a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES)
    (folder / "features.tsv.gz").unlink()
    (folder / "features.tsv.gz").symlink_to(target)
    return folder


@dataclass
class Case:
    """One bad input: how to build it, where it fails and what its message must say."""

    name: str
    build: Callable[[Path], dict]
    stage: str  # "sheet", "config", "download", "ingest", "score"
    problem: tuple[str, ...]  # any of these words names the problem
    fix: tuple[str, ...]  # any of these words names the fix
    names: str = "data"  # what the message must name: "data" (the file), "sheet", "config", "url"
    extra: dict = field(default_factory=dict)


def _write_case(
    d: Path,
    *,
    path: str,
    sha256: str = "",
    sample_col: str = "",
    dataset: str = "bad",
    config: dict | None = None,
    raw_config: str | None = None,
) -> None:
    pd.DataFrame(
        {
            "dataset": [dataset],
            "path": [path],
            "sha256": [sha256],
            "sample_col": [sample_col],
            "patient_col": [""],
            "condition_col": [""],
        }
    ).to_csv(d / "samples.tsv", sep="\t", index=False)
    cfg = {"samples": str(d / "samples.tsv"), "qc": {"doublets": False, "min_genes": 5}}
    cfg.update(config or {})
    (d / "config.yaml").write_text(raw_config if raw_config is not None else yaml.safe_dump(cfg))


def _h5ad(d: Path, a: ad.AnnData, name: str = "data.h5ad", **kw) -> dict:
    p = d / name
    a.write_h5ad(p)
    _write_case(d, path=str(p), **kw)
    return {"data": p}


def _bytes(d: Path, content: bytes, name: str = "data.h5ad", **kw) -> dict:
    p = d / name
    p.write_bytes(content)
    _write_case(d, path=str(p), **kw)
    return {"data": p}


def _truncated(d: Path) -> dict:
    p = d / "full.h5ad"
    good_adata().write_h5ad(p)
    blob = p.read_bytes()
    p.unlink()
    return _bytes(d, blob[: len(blob) // 2])


def _x(a: ad.AnnData, x) -> ad.AnnData:
    a = a.copy()
    a.X = x
    return a


def _dense(a: ad.AnnData) -> np.ndarray:
    return np.asarray(a.X.todense(), dtype=np.float32)


def _nan(d: Path) -> dict:
    a = good_adata()
    x = _dense(a)
    x[3, 2] = np.nan
    return _h5ad(d, _x(a, sp.csr_matrix(x)))


def _inf(d: Path) -> dict:
    a = good_adata()
    x = _dense(a)
    x[5, 1] = np.inf
    return _h5ad(d, _x(a, sp.csr_matrix(x)))


def _negative(d: Path) -> dict:
    a = good_adata()
    x = _dense(a)
    x[0, 0] = -3
    return _h5ad(d, _x(a, sp.csr_matrix(x)))


def _scaled(d: Path) -> dict:
    a = good_adata()
    x = np.log1p(_dense(a))
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return _h5ad(d, _x(a, x))


def _log2tpm(d: Path) -> dict:
    a = good_adata()
    x = _dense(a)
    x = np.log2(x / x.sum(1, keepdims=True) * 1e6 + 1)
    return _h5ad(d, _x(a, sp.csr_matrix(x)))


def _dup_barcodes(d: Path) -> dict:
    a = good_adata()
    names = list(a.obs_names)
    names[1] = names[0]
    a.obs_names = names
    return _h5ad(d, a)


def _one_cell(d: Path) -> dict:
    return _h5ad(d, good_adata(n_cells=1))


def _zero(d: Path) -> dict:
    a = good_adata()
    return _h5ad(d, _x(a, sp.csr_matrix(a.shape, dtype=np.float32)))


def _no_genes(d: Path) -> dict:
    a = good_adata()
    return _h5ad(d, a[:, []].copy())


def _ensembl_unmapped(d: Path) -> dict:
    ids = [f"ENSG99999{i:06d}" for i in range(len(GENES))]
    return _h5ad(d, good_adata(genes=ids))


def _mouse_symbols(d: Path) -> dict:
    genes = [
        g.capitalize()
        for g in [
            "CD3E",
            "CD8A",
            "PTPRC",
            "LYZ2",
            "ACTB",
            "GAPDH",
            "EPCAM",
            "COL1A1",
            "DCN",
            "CD68",
            "CD14",
            "MS4A1",
            "CD79A",
            "B2M",
            "STAT1",
            "IRF1",
            "GZMB",
            "PRF1",
        ]
    ]
    return _h5ad(d, good_adata(genes=genes))


def _mouse_ensembl(d: Path) -> dict:
    return _h5ad(d, good_adata(genes=[f"ENSMUSG00000{i:06d}" for i in range(30)]))


def _no_overlap(d: Path) -> dict:
    return _h5ad(d, good_adata(genes=[f"FAKEGENE{i}" for i in range(40)]))


def _missing_sample_col(d: Path) -> dict:
    return _h5ad(d, good_adata(), sample_col="patient_id")


def _unsupported(d: Path) -> dict:
    return _bytes(d, b"gene,cell1\nCD3E,1\n", name="data.csv")


def _bad_10x_h5(d: Path) -> dict:
    return _bytes(d, b"\x89HDF\r\n\x1a\n" + b"\0" * 64, name="data.h5")


def _mtx_incomplete(d: Path) -> dict:
    a = good_adata()
    folder = write_10x_mtx(
        d / "sample_mtx",
        a.X,
        barcodes=list(a.obs_names),
        ids=list(a.var_names),
        names=list(a.var_names),
    )
    (folder / "barcodes.tsv.gz").unlink()
    _write_case(d, path=str(folder))
    return {"data": folder}


def _missing_file(d: Path) -> dict:
    p = d / "no_such_file.h5ad"
    _write_case(d, path=str(p))
    return {"data": p, "absent": True}


def _checksum(d: Path) -> dict:
    return _h5ad(d, good_adata(), sha256="a" * 64)


def _sheet_bad_sha(d: Path) -> dict:
    return _h5ad(d, good_adata(), sha256="xyz")


def _dataset_id(bad: str) -> Callable[[Path], dict]:
    def build(d: Path) -> dict:
        return _h5ad(d, good_adata(), dataset=bad)

    return build


def _url_no_sha(d: Path) -> dict:
    _write_case(d, path="http://127.0.0.1:9/data.h5ad")
    return {"url": "http://127.0.0.1:9/data.h5ad", "absent": True}


def _url_unreachable(d: Path) -> dict:
    url = "http://127.0.0.1:{port}/data.h5ad"  # the test fills in a closed port
    _write_case(d, path=url, sha256="b" * 64)
    return {"url": url, "absent": True, "needs_port": True}


def _url_checksum(d: Path) -> dict:
    good_adata().write_h5ad(d / "served.h5ad")
    # the test serves the corpus
    url = "http://127.0.0.1:{serve_port}/url_checksum_mismatch/served.h5ad"
    _write_case(d, path=url, sha256="c" * 64)
    return {"data": d / "served.h5ad", "url": url, "needs_server": True}


def _unknown_key(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"qc": {"nmad": 5}})


def _wrong_type(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"cluster": {"resolution": "high"}})


def _old_seed(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"cluster": {"seed": 1}})


def _bad_source(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"ingest": {"matrix_source": "layers/spliced"}})


def _sheet_missing_column(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    (d / "samples.tsv").write_text(f"name\tfile\nbad\t{p}\n")
    (d / "config.yaml").write_text(yaml.safe_dump({"samples": str(d / "samples.tsv")}))
    return {"data": p}


def _sheet_two_sha(d: Path) -> dict:
    return _h5ad(d, good_adata(), sha256=f"{'a' * 64},{'b' * 64}")


def _multi_dup_label(d: Path) -> dict:
    (d / "x").mkdir()
    (d / "y").mkdir()
    p1, p2 = d / "x" / "tumour.h5ad", d / "y" / "tumour.h5ad"
    good_adata(n_cells=30).write_h5ad(p1)
    good_adata(n_cells=30, seed=1).write_h5ad(p2)
    _write_case(d, path=f"{p1},{p2}")
    return {"data": p1, "also": [p2]}


SECRET_LINE = "tmesig-corpus-secret:x:0:0"
PASSWORD = "hunter2-corpus"


def _external_link(d: Path) -> dict:
    p = external_link_h5ad(d / "data.h5ad", d / "elsewhere.h5")
    _write_case(d, path=str(p))
    return {"data": p, "also": [d / "elsewhere.h5"]}


def _external_storage(d: Path) -> dict:
    p = external_storage_h5ad(d / "data.h5ad", d / "values.bin")
    _write_case(d, path=str(p))
    return {"data": p, "also": [d / "values.bin"]}


def _huge_declared(d: Path) -> dict:
    p = huge_declared_h5ad(d / "data.h5ad", compressed=True)
    _write_case(d, path=str(p))
    return {"data": p}


def _symlinked_features(d: Path) -> dict:
    secret = d / "passwd"
    secret.write_text("".join(f"{SECRET_LINE}:{i}:/root\n" for i in range(len(GENES))))
    folder = symlinked_features_mtx(d / "sample_mtx", secret)
    _write_case(d, path=str(folder))
    return {"data": folder, "also": [secret], "secrets": [SECRET_LINE]}


def _hash_in_path(d: Path) -> dict:
    (d / "run#1").mkdir()
    p = d / "run#1" / "data#2.h5ad"
    good_adata().write_h5ad(p)
    # a wrong sha256 after the '#': read as a comment it would vanish and the run pass ingest
    _write_case(d, path=str(p), sha256="a" * 64)
    return {"data": p}


def _duplicate_block(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    _write_case(d, path=str(p))
    raw = (
        f"samples: {d / 'samples.tsv'}\nqc:\n  doublets: false\n  min_genes: 5\n"
        "cluster:\n  n_pcs: 10\nqc:\n  nmads: 3\n"
    )
    (d / "config.yaml").write_text(raw)
    return {"data": p}


def _url_credentials(d: Path) -> dict:
    url = f"https://alice:{PASSWORD}@127.0.0.1:9/data.h5ad"
    _write_case(d, path=url, sha256="b" * 64)
    return {"url": url, "absent": True, "secrets": [PASSWORD, "alice"]}


def _celltypist_no_sha(d: Path) -> dict:
    import pickle

    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    model = d / "model.pkl"
    marker = d / "model_code_ran"
    # a pickle that creates a file when unpickled: it must never be loaded
    model.write_bytes(pickle.dumps(_OpenOnLoad(str(marker))))
    _write_case(d, path=str(p), config={"annotate": {"celltypist_model": str(model)}})
    return {"data": model, "also": [p], "never_created": [marker]}


class _OpenOnLoad:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _download_over_cap(d: Path) -> dict:
    good_adata().write_h5ad(d / "served.h5ad")
    digest = hashlib.sha256((d / "served.h5ad").read_bytes()).hexdigest()
    url = "http://127.0.0.1:{serve_port}/download_over_cap/served.h5ad"
    _write_case(d, path=url, sha256=digest, config={"download": {"max_bytes": 1000}})
    return {"data": d / "served.h5ad", "url": url, "needs_server": True}


def _row_extra_value(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    # one value more than the header: pandas took the first column as the index, so that
    # 'dataset' held the path and 'path' the sha256
    header = "dataset\tpath\tsha256\tsample_col\n"
    (d / "samples.tsv").write_text(header + f"bad\t{p}\t{GOOD_SHA}\tsample\tresponse\n")
    (d / "config.yaml").write_text(yaml.safe_dump({"samples": str(d / "samples.tsv")}))
    return {"data": p}


def _same_file_twice(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    (d / "samples.tsv").write_text(f"dataset\tpath\nbad\t{p}\nbad_again\t{d}/./data.h5ad\n")
    (d / "config.yaml").write_text(yaml.safe_dump({"samples": str(d / "samples.tsv")}))
    return {"data": p}


def _condition_is_sample(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    header = "dataset\tpath\tsample_col\tcondition_col\n"
    (d / "samples.tsv").write_text(header + f"bad\t{p}\tsample\tsample\n")
    (d / "config.yaml").write_text(yaml.safe_dump({"samples": str(d / "samples.tsv")}))
    return {"data": p}


def _headerless_with_password(d: Path) -> dict:
    url = f"https://alice:{PASSWORD}@127.0.0.1:9/data.h5ad"
    (d / "samples.tsv").write_text(f"bad\t{url}\t{'b' * 64}\n")  # no header line
    (d / "config.yaml").write_text(yaml.safe_dump({"samples": str(d / "samples.tsv")}))
    return {"url": url, "absent": True, "secrets": [PASSWORD, "alice"]}


def _seed_out_of_range(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"seed": -1})  # numpy refused it at QC, after ingest


def _half_contrast(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"conditions": {"reference": "R"}})


def _author_labels_unmapped(d: Path) -> dict:
    return _h5ad(d, good_adata(), config={"annotate": {"use_author_labels": True}})


def _nan_threshold(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    _write_case(d, path=str(p))
    raw = f"samples: {d / 'samples.tsv'}\nqc:\n  doublets: false\n  nmads: .nan\n"
    (d / "config.yaml").write_text(raw)  # .nan passed 'exclusiveMinimum: 0'
    return {"data": p}


def _yte_template(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    _write_case(d, path=str(p))
    # Snakemake evaluates '?...' expressions of such a file as Python when it loads it
    raw = f"__use_yte__: true\nsamples: {d / 'samples.tsv'}\nseed: ?0\n"
    (d / "config.yaml").write_text(raw)
    return {"data": p}


def _alias_bomb(d: Path) -> dict:
    p = d / "data.h5ad"
    good_adata().write_h5ad(p)
    _write_case(d, path=str(p))
    nests = "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )  # *i: 9**9 strings; the schema validator walked them all to print one error
    raw = f"samples: {d / 'samples.tsv'}\na: &a [x, x, x, x, x, x, x, x, x]\n{nests}"
    (d / "config.yaml").write_text(raw + "annotate:\n  label_mapping:\n    T: *i\n")
    return {"data": p}


def _unfiltered_droplets(d: Path) -> dict:
    """A 10x raw_feature_bc_matrix: 30 cells beside 90 empty droplets of a few counts."""
    rng = np.random.default_rng(3)
    cells = rng.poisson(10.0, size=(30, len(GENES)))
    empty = rng.poisson(0.1, size=(90, len(GENES)))
    x = sp.csr_matrix(np.vstack([cells, empty]).astype(np.float32))
    barcodes = [f"AAAC{i:06d}-1" for i in range(120)]
    folder = write_10x_mtx(
        d / "s1" / "raw_feature_bc_matrix", x, barcodes=barcodes, ids=GENES, names=GENES
    )
    _write_case(d, path=str(folder))
    return {"data": folder}


def _transposed(d: Path) -> dict:
    a = good_adata()
    t = ad.AnnData(X=sp.csr_matrix(a.X.T), obs=pd.DataFrame(index=GENES))
    t.var_names = list(a.obs_names)
    return _h5ad(d, t)


def _lowercase_symbols(d: Path) -> dict:
    return _h5ad(d, good_adata(genes=[g.lower() for g in GENES]))


P_READ = ("not a readable", "empty", "truncated")
F_EXPORT = ("export", "download")

#: Every case, where it must fail, and the words its message must contain.
CASES: list[Case] = [
    Case("truncated_h5ad", _truncated, "ingest", P_READ, F_EXPORT),
    Case("empty_h5ad", lambda d: _bytes(d, b""), "ingest", ("empty",), F_EXPORT),
    Case("text_named_h5ad", lambda d: _bytes(d, b"cell,gene\nc1,3\n"), "ingest", P_READ, F_EXPORT),
    Case(
        "unsupported_suffix", _unsupported, "ingest", ("unsupported format",), ("supply an .h5ad",)
    ),
    Case("corrupt_10x_h5", _bad_10x_h5, "ingest", P_READ, F_EXPORT),
    Case(
        "mtx_dir_missing_barcodes", _mtx_incomplete, "ingest", ("missing: barcodes",), ("supply",)
    ),
    Case("all_zero", _zero, "ingest", ("every count is zero",), ("check the export",)),
    Case("no_genes", _no_genes, "ingest", ("empty",), ("supply a dataset",)),
    Case("one_cell", _one_cell, "ingest", ("only 1 cell",), ("supply the full dataset",)),
    Case("nan_values", _nan, "ingest", ("NaN",), ("repair", "re-export")),
    Case("inf_values", _inf, "ingest", ("infinite",), ("repair", "re-export")),
    Case(
        "negative_counts",
        _negative,
        "ingest",
        ("negative",),
        ("raw UMI/read counts", "non-negative"),
    ),
    Case("scaled_only", _scaled, "ingest", ("negative values", "scaled"), ("raw UMI/read counts",)),
    Case("log2_tpm_refused", _log2tpm, "ingest", ("log2(TPM+1)",), ("allow_non_counts",)),
    Case(
        "duplicated_barcodes",
        _dup_barcodes,
        "ingest",
        ("duplicated cell barcodes",),
        ("make them unique",),
    ),
    Case(
        "ensembl_unmapped", _ensembl_unmapped, "ingest", ("has a gene symbol",), ("feature_name",)
    ),
    Case("mouse_symbols", _mouse_symbols, "ingest", ("mouse",), ("uppercase_mouse",)),
    Case("mouse_ensembl", _mouse_ensembl, "ingest", ("mouse Ensembl",), ("feature_name",)),
    Case(
        "no_signature_overlap",
        _no_overlap,
        "ingest",
        ("not in any signature", "in any signature set"),
        ("supply human gene symbols",),
    ),
    Case("sample_col_absent", _missing_sample_col, "ingest", ("no such column",), ("sample_col",)),
    Case(
        "matrix_source_absent",
        _bad_source,
        "ingest",
        ("not in the dataset",),
        ("ingest.matrix_source",),
    ),
    Case(
        "checksum_mismatch",
        _checksum,
        "ingest",
        ("sha256 mismatch",),
        ("fix the sha256 column", "fetch it again"),
    ),
    Case("missing_file", _missing_file, "ingest", ("not found",), ("'path' column",)),
    Case(
        "multi_file_same_stem",
        _multi_dup_label,
        "ingest",
        ("share the sample label",),
        ("rename the files",),
    ),
    Case(
        "dataset_id_semicolon",
        _dataset_id("a;b"),
        "sheet",
        ("invalid dataset id",),
        ("rename the dataset",),
        names="sheet",
    ),
    Case(
        "dataset_id_space",
        _dataset_id("tumour one"),
        "sheet",
        ("invalid dataset id",),
        ("rename the dataset",),
        names="sheet",
    ),
    Case(
        "dataset_id_dotdot",
        _dataset_id("../escape"),
        "sheet",
        ("invalid dataset id",),
        ("rename the dataset",),
        names="sheet",
    ),
    Case(
        "sheet_bad_sha256",
        _sheet_bad_sha,
        "sheet",
        ("does not match",),
        ("correct these entries",),
        names="sheet",
    ),
    Case(
        "sheet_sha256_count",
        _sheet_two_sha,
        "sheet",
        ("sha256 value(s)",),
        ("one sha256 per path",),
        names="sheet",
    ),
    Case(
        "sheet_missing_columns",
        _sheet_missing_column,
        "sheet",
        ("lacks the column",),
        ("add them",),
        names="sheet",
    ),
    Case(
        "url_without_sha256",
        _url_no_sha,
        "sheet",
        ("sha256",),
        ("add the file's SHA-256",),
        names="sheet",
    ),
    Case(
        "url_unreachable",
        _url_unreachable,
        "download",
        ("unreachable",),
        ("check the URL",),
        names="url",
    ),
    Case(
        "url_checksum_mismatch",
        _url_checksum,
        "download",
        ("sha256 mismatch",),
        ("'sha256' column",),
        names="url",
    ),
    Case(
        "config_unknown_key",
        _unknown_key,
        "config",
        ("nmad",),
        ("correct or remove",),
        names="config",
    ),
    Case(
        "config_wrong_type",
        _wrong_type,
        "config",
        ("is not of type",),
        ("correct or remove",),
        names="config",
    ),
    Case(
        "config_per_stage_seed",
        _old_seed,
        "config",
        ("cluster.seed was replaced by the top-level seed",),
        ("set the seed at the top level",),
        names="config",
    ),
]


CASES += [
    Case(
        "external_link_h5ad",
        _external_link,
        "ingest",
        ("external link",),
        ("self-contained file",),
    ),
    Case(
        "external_storage_h5ad",
        _external_storage,
        "ingest",
        ("external file(s)",),
        ("self-contained file",),
    ),
    Case("huge_declared_h5ad", _huge_declared, "ingest", ("declares",), F_EXPORT),
    Case(
        "symlinked_10x_features",
        _symlinked_features,
        "ingest",
        ("symbolic link",),
        ("copy the file into the directory",),
    ),
    Case(
        "hash_in_path_keeps_sha256",
        _hash_in_path,
        "ingest",
        ("sha256 mismatch",),
        ("fix the sha256 column",),
    ),
    Case(
        "config_duplicated_block",
        _duplicate_block,
        "config",
        ("appears a second time",),
        ("merge the two into one block",),
        names="config",
    ),
    Case(
        "url_with_credentials",
        _url_credentials,
        "sheet",
        ("user name or password",),
        ("download the file yourself",),
        names="sheet",
    ),
    Case(
        "celltypist_model_without_sha256",
        _celltypist_no_sha,
        "config",
        ("celltypist_sha256: missing",),
        ("sha256sum",),
    ),
    Case(
        "unfiltered_droplet_matrix",
        _unfiltered_droplets,
        "ingest",
        ("empty droplets",),
        ("filtered_feature_bc_matrix",),
    ),
    Case("transposed_h5ad", _transposed, "ingest", ("transposed",), ("adata.T",)),
    Case("lowercase_symbols", _lowercase_symbols, "ingest", ("lower-case",), ("str.upper()",)),
    Case(
        "download_over_cap",
        _download_over_cap,
        "download",
        ("over the cap",),
        ("download.max_bytes",),
        names="url",
    ),
    Case(
        "sheet_row_with_extra_value",
        _row_extra_value,
        "sheet",
        ("row 1 has 5 values but the header has 4 columns",),
        ("one tab between columns",),
        names="sheet",
    ),
    Case(
        "sheet_same_file_two_datasets",
        _same_file_twice,
        "sheet",
        ("both name",),
        ("one row per file",),
        names="sheet",
    ),
    Case(
        "sheet_condition_col_is_sample_col",
        _condition_is_sample,
        "sheet",
        ("condition_col and sample_col both name",),
        ("set condition_col",),
        names="sheet",
    ),
    Case(
        "sheet_headerless_url_password",
        _headerless_with_password,
        "sheet",
        ("lacks the column(s) dataset, path",),
        ("add them to the header",),
        names="sheet",
    ),
    Case(
        "config_seed_out_of_range",
        _seed_out_of_range,
        "config",
        ("seed: -1 is less than the minimum",),
        ("correct or remove",),
        names="config",
    ),
    Case(
        "config_reference_without_test",
        _half_contrast,
        "config",
        ("conditions.test is not",),
        ("set conditions.test",),
        names="config",
    ),
    Case(
        "config_author_labels_without_mapping",
        _author_labels_unmapped,
        "config",
        ("annotate.label_mapping is empty",),
        ("map each author label to a lineage",),
        names="config",
    ),
    Case(
        "config_nan_threshold",
        _nan_threshold,
        "config",
        ("qc.nmads: nan", "not a finite number"),
        ("give a finite number",),
        names="config",
    ),
    Case(
        "config_yte_template",
        _yte_template,
        "config",
        ("yte template",),
        ("remove __use_yte__",),
        names="config",
    ),
    Case(
        "config_yaml_alias_bomb",
        _alias_bomb,
        "config",
        ("anchors and aliases",),
        ("write the values out",),
        names="config",
    ),
]


def make_all(root: Path) -> dict[str, dict]:
    """Build every case under ``root``; return ``{case: info}`` (paths the test must check)."""
    out = {}
    for case in CASES:
        d = root / case.name
        d.mkdir(parents=True, exist_ok=True)
        out[case.name] = case.build(d)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_inputs")
    built = make_all(target)
    print(f"{len(built)} cases written under {target}")
