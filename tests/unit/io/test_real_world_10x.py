"""10x inputs as they come: v2 files of several genomes, references whose ids are not Ensembl."""

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from tmesig.io import InputError, ingest

sys.path.insert(0, str(Path(__file__).parents[2] / "data"))
from make_bad_inputs import GENES, good_adata, write_10x_mtx


def _v2(path: Path, x: sp.spmatrix, genomes: dict[str, list[str]], barcodes: list[str]) -> Path:
    """A CellRanger v2 HDF5 file: one group per genome (genes × cells CSC each)."""
    m = sp.csc_matrix(sp.csr_matrix(x).T.astype(np.int32))
    with h5py.File(path, "w") as f:
        for genome, names in genomes.items():
            g = f.create_group(genome)
            g.create_dataset("data", data=m.data)
            g.create_dataset("indices", data=m.indices.astype(np.int64))
            g.create_dataset("indptr", data=m.indptr.astype(np.int64))
            g.create_dataset("shape", data=np.array(m.shape, dtype=np.int32))
            g.create_dataset("barcodes", data=np.array(barcodes, dtype="S"))
            g.create_dataset("genes", data=np.array([f"{genome}_{n}" for n in names], dtype="S"))
            g.create_dataset("gene_names", data=np.array(names, dtype="S"))
    return path


def test_v2_file_of_two_genomes_reads_the_human_one(tmp_path):
    a = good_adata()
    mouse = [g.capitalize() for g in GENES]
    p = _v2(tmp_path / "d.h5", a.X, {"hg19": GENES, "mm10": mouse}, list(a.obs_names))
    out, s = ingest(p, dataset="d")
    assert list(out.var_names) == GENES
    np.testing.assert_array_equal(out.X.toarray(), a.X.toarray())
    assert any("only the matrix of hg19 is read" in n for n in s["notes"])
    q = _v2(tmp_path / "m.h5", a.X, {"mm10": mouse, "mm39": mouse}, list(a.obs_names))
    with pytest.raises(InputError) as err:
        ingest(q, dataset="d")
    assert str(q) in str(err.value) and "none of them human" in str(err.value)


def test_10x_names_used_when_the_ids_are_not_ensembl(tmp_path):
    a = good_adata()
    ids = [f"gene-{i}" for i in range(len(GENES))]  # a custom reference's ids
    folder = write_10x_mtx(tmp_path / "mtx", a.X, barcodes=list(a.obs_names), ids=ids, names=GENES)
    out, _ = ingest(folder, dataset="d")
    assert list(out.var_names) == GENES
