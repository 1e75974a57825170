"""write_h5ad_deterministic: two processes writing the same data write the same bytes, with
gzip level 1 on every chunked dataset, and the data read back unchanged."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
from tmesig.io.write import H5AD_COMPRESSION, H5AD_COMPRESSION_LEVEL, write_h5ad_deterministic

sys.path.insert(0, str(Path(__file__).parents[2] / "data"))
from make_bad_inputs import good_adata

_WRITE = """
import sys
sys.path.insert(0, {data!r})
import numpy as np
from make_bad_inputs import good_adata
from tmesig.io.write import write_h5ad_deterministic
a = good_adata(n_cells=500)
a.layers["counts"] = a.X.copy()
a.obsm["X_umap"] = np.random.default_rng(0).normal(size=(a.n_obs, 2))
a.uns["run"] = {{"seed": 0, "note": "x"}}
write_h5ad_deterministic(a, sys.argv[1])
"""


def test_two_processes_write_identical_bytes(tmp_path):
    code = _WRITE.format(data=str(Path(__file__).parents[2] / "data"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    digests = []
    for i in range(2):
        out = tmp_path / f"run{i}.h5ad"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_gzip_level_1_and_same_data(tmp_path):
    a = good_adata(n_cells=300)
    a.layers["counts"] = a.X.copy()
    p = tmp_path / "a.h5ad"
    write_h5ad_deterministic(a, p)
    filters = []
    with h5py.File(p) as f:
        f.visititems(
            lambda name, obj: (
                filters.append((obj.compression, obj.compression_opts))
                if isinstance(obj, h5py.Dataset) and obj.chunks
                else None
            )
        )
    assert filters and set(filters) == {(H5AD_COMPRESSION, H5AD_COMPRESSION_LEVEL)}
    b = ad.read_h5ad(p)
    assert (b.X != a.X).nnz == 0 and (b.layers["counts"] != a.layers["counts"]).nnz == 0
    assert b.obs.equals(a.obs) and np.array_equal(b.var_names, a.var_names)
