"""Formats: h5ad, 10x HDF5, 10x mtx directories and multi-file datasets give the same counts."""

import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig.io import (
    IngestOptions,
    InputError,
    dataset_format,
    file_label,
    ingest,
    is_url,
    read_10x_mtx,
    read_any,
    split_paths,
)

sys.path.insert(0, str(Path(__file__).parents[2] / "data"))
from make_bad_inputs import GENES, good_adata, symlinked_features_mtx, write_10x_h5, write_10x_mtx

# CD274, B2M, NT5E (twice: a duplicated symbol under two IDs), HAVCR2 by GRCh38 Ensembl ID
IDS = [
    "ENSG00000120217",
    "ENSG00000166710",
    "ENSG00000135318",
    "ENSG00000135318.9",
    "ENSG00000135077",
]
NAMES = ["CD274", "B2M", "NT5E", "NT5E", "HAVCR2"]


def _x(seed=0, n=12):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.poisson(2.0, size=(n, len(IDS))).astype(np.float32))


def _expected(x):
    d = np.asarray(x.todense())
    return np.column_stack([d[:, 0], d[:, 1], d[:, 2] + d[:, 3], d[:, 4]])


def test_10x_h5_read_with_ids_and_symbols(tmp_path):
    x = _x()
    bc = [f"BC{i}-1" for i in range(x.shape[0])]
    p = write_10x_h5(tmp_path / "s1.h5", x, barcodes=bc, ids=IDS, names=NAMES)
    a, fmt = read_any(p)
    assert fmt == "10x_h5" and list(a.obs_names) == bc
    assert list(a.var_names) == IDS and list(a.var["gene_symbols"]) == NAMES
    out, summary = ingest(p, dataset="d", options=IngestOptions(min_cells=1))
    assert list(out.var_names) == ["CD274", "B2M", "NT5E", "HAVCR2"]
    np.testing.assert_array_equal(out.X.toarray(), _expected(x))
    assert summary["format"] == "10x_h5" and summary["duplicate_symbols_summed"] == 1


def test_10x_h5_drops_antibody_capture(tmp_path):
    x = _x(n=5)
    ids, names = IDS[:2] + ["CD3_TotalSeqB"], NAMES[:2] + ["CD3"]
    p = write_10x_h5(
        tmp_path / "cite.h5",
        x[:, :3],
        barcodes=[f"b{i}" for i in range(5)],
        ids=ids,
        names=names,
        feature_types=["Gene Expression", "Gene Expression", "Antibody Capture"],
    )
    a, _ = read_any(p)
    assert list(a.var["gene_symbols"]) == ["CD274", "B2M"]


@pytest.mark.parametrize("gz", [True, False])
def test_10x_mtx_directory_equals_h5(tmp_path, gz):
    x = _x(seed=2)
    bc = [f"BC{i}-1" for i in range(x.shape[0])]
    folder = write_10x_mtx(
        tmp_path / "patient7" / "filtered_feature_bc_matrix",
        x,
        barcodes=bc,
        ids=IDS,
        names=NAMES,
        gz=gz,
    )
    assert dataset_format(folder) == "10x_mtx"
    assert file_label(folder) == "patient7"
    out, summary = ingest(folder, dataset="d", options=IngestOptions(min_cells=1))
    np.testing.assert_array_equal(out.X.toarray(), _expected(x))
    assert summary["format"] == "10x_mtx" and list(out.obs_names) == bc


def test_multi_file_dataset_merges_with_sample_labels(tmp_path):
    x1, x2 = _x(seed=3, n=7), _x(seed=4, n=5)
    p1 = write_10x_h5(
        tmp_path / "GSM1_tumour.h5", x1, barcodes=[f"B{i}" for i in range(7)], ids=IDS, names=NAMES
    )
    # the second file is an h5ad with symbols, a gene the first lacks and one gene fewer
    a2 = ad.AnnData(
        X=sp.csr_matrix(
            np.column_stack([np.asarray(x2.todense())[:, [0, 1]], np.full(5, 4.0)]).astype(
                np.float32
            )
        ),
        var=pd.DataFrame(index=["CD274", "B2M", "LAG3"]),
    )
    a2.obs_names = [
        f"B{i}" for i in range(5)
    ]  # the same barcodes as file 1: prefixed, not clashing
    p2 = tmp_path / "GSM2_normal.h5ad"
    a2.write_h5ad(p2)
    out, summary = ingest(f"{p1}, {p2}", dataset="d", options=IngestOptions(min_cells=1))
    assert out.n_obs == 12
    # only the genes every file measured: a gene absent from a file is never filled with 0
    assert list(out.var_names) == ["CD274", "B2M"]
    assert list(out.obs["sample"].cat.categories) == ["GSM1_tumour", "GSM2_normal"]
    assert out.obs_names[0] == "GSM1_tumour_B0" and out.obs_names[7] == "GSM2_normal_B0"
    m = out.X.toarray()
    np.testing.assert_array_equal(m[:7], _expected(x1)[:, :2])
    np.testing.assert_array_equal(m[7:], np.asarray(x2.todense())[:, :2])
    assert summary["genes_dropped"] == 3
    assert summary["genes_dropped_list"] == ["HAVCR2", "LAG3", "NT5E"]
    assert [f["label"] for f in summary["files"]] == ["GSM1_tumour", "GSM2_normal"]
    assert set(summary["matrix"]) == {"GSM1_tumour", "GSM2_normal"}


def test_multi_file_with_sample_column(tmp_path):
    paths = []
    for k in range(2):
        a = ad.AnnData(
            X=_x(seed=k, n=6), var=pd.DataFrame(index=NAMES[:2] + ["NT5E", "X1", "HAVCR2"])
        )
        a.obs_names = [f"c{i}" for i in range(6)]
        a.obs["donor_sample"] = [f"f{k}_{'ab'[i % 2]}" for i in range(6)]
        paths.append(tmp_path / f"part{k}.h5ad")
        a.write_h5ad(paths[-1])
    out, _ = ingest(
        paths, dataset="d", sample_col="donor_sample", options=IngestOptions(min_cells=1)
    )
    assert sorted(out.obs["sample"].cat.categories) == ["f0_a", "f0_b", "f1_a", "f1_b"]
    assert list(out.obs["file"].cat.categories) == ["part0", "part1"]


def test_split_paths_and_labels():
    assert split_paths(" a.h5ad , b/c.h5 ,") == ["a.h5ad", "b/c.h5"]
    assert split_paths(["x.h5ad"]) == ["x.h5ad"]
    assert file_label("dir/GSM5.h5ad") == "GSM5" and file_label("d/s2.h5") == "s2"
    assert is_url("https://x.org/a.h5ad") and not is_url("data/a.h5ad")


def test_unsupported_and_incomplete_inputs_are_named(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("a,b\n")
    with pytest.raises(InputError, match="unsupported format") as err:
        read_any(csv)
    assert str(csv) in str(err.value)
    folder = tmp_path / "mtx"
    folder.mkdir()
    (folder / "matrix.mtx").write_text("")
    with pytest.raises(InputError, match="missing: features, barcodes"):
        read_any(folder)
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable 10x"):
        read_any(fake)


SECRET = "tmesig-secret-line-7f3a"


def _secret_file(path: Path, n: int) -> Path:
    """A file outside the dataset whose lines must never reach a message."""
    path.write_text("".join(f"{SECRET}:{i}:x:/home\n" for i in range(n)))
    return path


def _tree_digest(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


def test_symlinked_features_leaving_the_directory_refused(tmp_path):
    target = _secret_file(tmp_path / "passwd", len(GENES))
    folder = symlinked_features_mtx(tmp_path / "s1", target)
    before = _tree_digest(folder)
    with pytest.raises(InputError) as err:
        read_any(folder)
    msg = str(err.value)
    assert msg.startswith(f"{folder}: features.tsv.gz is a symbolic link to a file outside")
    assert "Fix: copy the file into the directory" in msg and SECRET not in msg
    with pytest.raises(InputError, match="symbolic link"):  # the reader checks it too
        read_10x_mtx(folder)
    assert _tree_digest(folder) == before and (folder / "features.tsv.gz").is_symlink()


def test_symlink_inside_the_directory_and_symlinked_directory_accepted(tmp_path):
    a = good_adata()
    real = write_10x_mtx(tmp_path / "real", a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES)
    (real / "features.tsv.gz").rename(real / "feat_store.tsv.gz")
    (real / "features.tsv.gz").symlink_to("feat_store.tsv.gz")  # stays inside
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)  # the directory itself
    got, fmt = read_any(tmp_path / "alias")
    assert fmt == "10x_mtx" and list(got.var["gene_symbols"]) == GENES


def test_unparsable_10x_files_named_without_their_content(tmp_path):
    a = good_adata()
    folder = write_10x_mtx(
        tmp_path / "d", a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES, gz=False
    )
    good = _tree_digest(folder)
    # a one-column 'features' file whose lines would otherwise become gene names
    _secret_file(folder / "features.tsv", len(GENES))
    with pytest.raises(InputError) as err:
        read_any(folder)
    msg = str(err.value)
    assert "features.tsv is not a 10x features table" in msg and SECRET not in msg
    (folder / "features.tsv").write_bytes(good["features.tsv"])
    _secret_file(folder / "matrix.mtx", 3)
    with pytest.raises(InputError) as err:
        read_any(folder)
    msg = str(err.value)
    assert "matrix.mtx is not a Matrix Market matrix" in msg and SECRET not in msg


@pytest.mark.slow
def test_workflow_ingests_a_multi_file_10x_dataset(tmp_path):
    import json
    import os
    import subprocess

    import yaml
    from conftest import REPO

    a, b = good_adata(n_cells=20, seed=1), good_adata(n_cells=25, seed=2)
    p1 = write_10x_h5(
        tmp_path / "tumourA.h5", a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES
    )
    p2 = write_10x_mtx(
        tmp_path / "tumourB", b.X, barcodes=list(b.obs_names), ids=GENES, names=GENES
    )
    pd.DataFrame({"dataset": ["two"], "path": [f"{p1},{p2}"]}).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False
    )
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"samples": str(tmp_path / "samples.tsv")})
    )
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "config.yaml"),
        "--cores",
        "1",
        "results/two/ingest_summary.json",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads((tmp_path / "results" / "two" / "ingest_summary.json").read_text())
    assert s["cells"] == 45 and s["cells_per_sample"] == {"tumourA": 20, "tumourB": 25}
    assert s["format"] == ["10x_h5", "10x_mtx"]
