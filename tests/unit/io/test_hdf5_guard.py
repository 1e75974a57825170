"""HDF5 files that reach outside themselves or declare data they lack are refused before any
reader allocates or follows anything; ordinary h5ad and 10x files pass."""

import hashlib
import resource
import sys
import time
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pytest
from tmesig.io import InputError, read_any
from tmesig.io import hdf5_guard as guard

sys.path.insert(0, str(Path(__file__).parents[2] / "data"))
import make_bad_inputs as mb


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _refused(path: Path, *words: str) -> str:
    before = _digest(path)
    with pytest.raises(InputError) as err:
        read_any(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: "), msg
    assert "Fix: " in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert "Traceback" not in msg and "\n" not in msg
    assert _digest(path) == before  # input unchanged
    return msg


def test_external_link_refused_though_anndata_would_follow_it(tmp_path):
    p = mb.external_link_h5ad(tmp_path / "linked.h5ad", tmp_path / "elsewhere.h5")
    # the attack works without the guard: anndata reads the other file's values
    assert ad.read_h5ad(p).X.sum() == mb.good_adata().X.sum()
    msg = _refused(p, "/X/data", "external link", "sha256 check does not cover")
    assert "self-contained file" in msg
    # the other file changes: the linked file's checksum does not
    sha = _digest(p)
    with h5py.File(tmp_path / "elsewhere.h5", "r+") as t:
        t["data"][0] = 1e6
    assert _digest(p) == sha


def test_external_storage_refused_and_never_read(tmp_path):
    secret = tmp_path / "raw.bin"
    p = mb.external_storage_h5ad(tmp_path / "external.h5ad", secret)
    # without the guard the values come from raw.bin, a file the checksum never saw
    with h5py.File(p) as f:
        assert f["X/data"].external[0][0] == str(secret)
        np.testing.assert_array_equal(
            f["X/data"][()], np.frombuffer(secret.read_bytes(), dtype=f["X/data"].dtype)
        )
    _refused(p, "/X/data", "external file(s)", "sha256 check does not cover")


def test_virtual_dataset_refused(tmp_path):
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as f:
        f["v"] = np.arange(10.0)
    p = tmp_path / "virtual.h5ad"
    mb.good_adata().write_h5ad(p)
    layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(src), "v", shape=(10,))
    with h5py.File(p, "r+") as f:
        f["uns"].create_virtual_dataset("v", layout)
    _refused(p, "/uns/v", "virtual dataset")


@pytest.mark.parametrize("compressed", [False, True])
def test_huge_declared_shape_refused_without_allocating(tmp_path, compressed):
    p = mb.huge_declared_h5ad(tmp_path / "huge.h5ad", compressed=compressed)
    assert p.stat().st_size < 200_000  # a small file declaring 8 GB
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    msg = _refused(p, "/obsm/X_big", "declares 8,000,000,000 bytes", "download or export")
    assert time.perf_counter() - t0 < 5
    # peak memory grew by far less than the 8 GB declared (ru_maxrss is in kB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 500_000
    held = 0 if not compressed else h5py.File(p)["obsm/X_big"].id.get_storage_size()
    assert f"holds {held:,} bytes" in msg


def test_large_attribute_in_dense_storage_passes(tmp_path):
    # HDF5 stores a large attribute's data when it is created: its declared size is held
    p = tmp_path / "attr.h5ad"
    mb.good_adata().write_h5ad(p)
    with h5py.File(p, "r+", libver="latest") as f:
        g = f["uns"].create_group("dense")
        g.attrs["encoding-type"] = "dict"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["big"] = np.arange(200_000, dtype=np.float64)
    guard.check_hdf5(p)
    assert read_any(p)[0].n_obs == 60


def test_external_link_in_10x_h5_refused(tmp_path):
    a = mb.good_adata()
    p = mb.write_10x_h5(
        tmp_path / "s.h5", a.X, barcodes=list(a.obs_names), ids=mb.GENES, names=mb.GENES
    )
    with h5py.File(p, "r+") as f:
        del f["matrix/features/name"]
        f["matrix/features/name"] = h5py.ExternalLink("/etc/passwd", "/x")
    msg = _refused(p, "/matrix/features/name", "external link", "/etc/passwd")
    assert "root:" not in msg


def test_too_many_objects_refused(tmp_path, monkeypatch):
    p = tmp_path / "many.h5ad"
    mb.good_adata().write_h5ad(p)
    with h5py.File(p, "r+") as f:
        for i in range(40):
            f["uns"].create_group(f"g{i}")
    monkeypatch.setattr(guard, "MAX_OBJECTS", 30)
    _refused(p, "more than 30 HDF5 objects")


@pytest.mark.parametrize("compression", [None, "gzip", "lzf"])
def test_ordinary_files_pass(tmp_path, compression):
    a = mb.good_adata()
    a.layers["counts"] = a.X.copy()
    a.obsm["X_pca"] = np.random.default_rng(0).normal(size=(a.n_obs, 5))
    a.uns["params"] = {"k": 15, "names": ["a", "b"]}
    a.obsp["conn"] = a.X @ a.X.T
    # a dense all-zero layer: the most compressible array there is, still within the bound
    a.layers["zeros"] = np.zeros(a.shape, dtype=np.float32)
    p = tmp_path / "ok.h5ad"
    a.write_h5ad(p, compression=compression)
    guard.check_hdf5(p)
    b, fmt = read_any(p)
    assert fmt == "h5ad" and (b.X != a.X).nnz == 0
    h5 = mb.write_10x_h5(
        tmp_path / "ok.h5", a.X, barcodes=list(a.obs_names), ids=mb.GENES, names=mb.GENES
    )
    guard.check_hdf5(h5)
    assert read_any(h5)[0].n_obs == a.n_obs


def test_zero_dense_gzip_within_bound(tmp_path):
    # deflate's best case (all zeros) stays under MAX_COMPRESSION_RATIO: no false refusal
    p = tmp_path / "zeros.h5ad"
    ad.AnnData(np.zeros((2000, 3000), dtype=np.float32)).write_h5ad(p, compression="gzip")
    with h5py.File(p) as f:
        ratio = f["X"].nbytes / f["X"].id.get_storage_size()
    assert 100 < ratio < guard.MAX_COMPRESSION_RATIO
    guard.check_hdf5(p)


def test_not_hdf5_left_to_the_reader(tmp_path):
    p = tmp_path / "text.h5ad"
    p.write_text("cell,gene\n")
    guard.check_hdf5(p)  # no opinion: the reader's message says "not a readable"
    with pytest.raises(InputError, match="not a readable"):
        read_any(p)
