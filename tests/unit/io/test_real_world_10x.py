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


def _geo(folder: Path, prefix: str, a) -> None:
    """A 10x directory's three files as GEO serves them: ``<prefix>matrix.mtx.gz``..."""
    write_10x_mtx(folder, a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES)
    for name in ("matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz"):
        (folder / name).rename(folder / f"{prefix}{name}")


def test_geo_prefixed_10x_files_read_and_several_samples_refused(tmp_path):
    a = good_adata()
    _geo(tmp_path / "s1", "GSM4567_tumour_", a)
    out, _ = ingest(tmp_path / "s1", dataset="d")
    np.testing.assert_array_equal(out.X.toarray(), a.X.toarray())
    _geo(tmp_path / "s1", "GSM4568_normal_", good_adata(seed=1))
    with pytest.raises(InputError) as err:
        ingest(tmp_path / "s1", dataset="d")
    msg = str(err.value)
    assert str(tmp_path / "s1") in msg and "GSM4567_tumour_, GSM4568_normal_" in msg
    assert "a directory of its own" in msg


def test_header_lines_of_barcodes_and_features_dropped_with_a_note(tmp_path):
    a = good_adata()
    folder = write_10x_mtx(
        tmp_path / "m", a.X, barcodes=list(a.obs_names), ids=GENES, names=GENES, gz=False
    )
    (folder / "barcodes.tsv").write_text("barcode\n" + "".join(f"{b}\n" for b in a.obs_names))
    feats = "".join(f"{g}\t{g}\tGene Expression\n" for g in GENES)
    (folder / "features.tsv").write_text("gene_id\tgene_name\tfeature_type\n" + feats)
    out, s = ingest(folder, dataset="d")
    assert list(out.obs_names) == list(a.obs_names) and list(out.var_names) == GENES
    assert sum("its first line is a header" in n for n in s["notes"]) == 2
    (folder / "barcodes.tsv").write_text("".join(f"{b}\n" for b in a.obs_names[1:]))
    with pytest.raises(InputError, match="do not belong together"):  # not a header: refused
        ingest(folder, dataset="d")


def test_molecule_info_h5_refused_naming_the_matrix_file(tmp_path):
    p = tmp_path / "molecule_info.h5"
    with h5py.File(p, "w") as f:
        for name in ("barcode_idx", "feature_idx", "umi", "count", "gem_group"):
            f.create_dataset(name, data=np.arange(10, dtype=np.uint32))
        f.create_group("features").create_dataset("id", data=np.array([b"ENSG00000167286"]))
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d")
    msg = str(err.value)
    assert str(p) in msg and "molecule_info" in msg and "filtered_feature_bc_matrix.h5" in msg
