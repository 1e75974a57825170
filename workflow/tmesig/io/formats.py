"""Readers for the dataset file formats tmesig accepts; read failures become :class:`InputError`.

Supported (chosen from the path, never from the file's content alone):

- ``.h5ad`` - AnnData (``anndata.read_h5ad``; anndata never unpickles: object arrays in the
  legacy pickle-based formats are refused by anndata rather than loaded);
- ``.h5`` - 10x Genomics HDF5 feature-barcode matrix, v3 (``/matrix``) or v2 (one group per
  genome: the human one is read), read with :func:`scanpy.read_10x_h5` (gene-expression
  features only);
- a directory - 10x Genomics ``matrix.mtx(.gz)`` + ``features.tsv(.gz)`` (or ``genes.tsv``)
  + ``barcodes.tsv(.gz)``, or the same with one prefix (GEO), read by
  :mod:`tmesig.io.tenx_mtx` (text only; gene-expression features only).

Nothing read from a dataset is executed. 10x readers keep Ensembl IDs (when the ids are
Ensembl IDs) as ``var_names`` and
the symbols in ``var["gene_symbols"]`` so that duplicated symbols are summed by
:func:`tmesig.io.genes.sum_duplicate_genes` instead of being renamed ``-1``, ``-2``.

A dataset is read only from itself: HDF5 files are checked first by
:func:`tmesig.io.hdf5_guard.check_hdf5` (no external links or storage, no declared size beyond
the stored bytes), and a file of a 10x directory may not be a symbolic link leading out of the
directory. Messages about a file that failed to parse never quote its content.
"""

from collections.abc import Sequence
from pathlib import Path

import anndata as ad

from . import urls
from .errors import InputError
from .hdf5_guard import check_hdf5
from .tenx_mtx import _READ_NOTES, ensembl_ids, mtx_parts, read_10x_mtx, refuse_outside_links
from .urls import is_url

__all__ = [
    "FORMATS",
    "READ_NOTES",
    "URL_RE",
    "dataset_format",
    "file_label",
    "is_url",
    "read_10x_h5",
    "read_10x_mtx",
    "read_any",
    "split_paths",
]

#: ``uns`` key of the notes a reader leaves for the ingest summary.
READ_NOTES = _READ_NOTES
#: Format name -> what it is, for messages.
FORMATS = {
    "h5ad": "h5ad file (AnnData)",
    "10x_h5": "10x Genomics HDF5 matrix (.h5) file",
    "10x_mtx": (
        "10x Genomics matrix directory (matrix.mtx[.gz], features.tsv[.gz], barcodes.tsv[.gz])"
    ),
}
#: A sheet ``path`` that is an http(s) URL (the rule of :mod:`tmesig.io.urls`).
URL_RE = urls._URL_RE
_FIX_FORMATS = (
    "supply an .h5ad file, a 10x .h5 file or a 10x matrix directory "
    "(matrix.mtx[.gz], features.tsv[.gz] or genes.tsv[.gz], barcodes.tsv[.gz])"
)


def split_paths(path: str | Path | Sequence[str | Path]) -> list[str]:
    """Split a sheet ``path`` into its files: several paths are separated by ``,``.

    Parameters
    ----------
    path
        One path, a comma-separated list of paths, or a sequence of paths.

    Returns
    -------
    list of str
        The paths, stripped of surrounding white space, empty entries dropped.
    """
    if isinstance(path, (str, Path)):
        parts = str(path).split(",")
    else:
        parts = [str(p) for p in path]
    return [p.strip() for p in parts if p.strip()]


def file_label(path: str | Path) -> str:
    """Sample label of one file of a multi-file dataset: the file stem (directory name for mtx).

    Parameters
    ----------
    path
        One file or 10x matrix directory.

    Returns
    -------
    str
        ``GSM123_tumour.h5ad`` -> ``GSM123_tumour``; ``s1/filtered_feature_bc_matrix`` -> the
        directory name, or its parent's name when the directory is one of 10x's standard names.
    """
    p = Path(str(path).rstrip("/"))
    if p.name in ("filtered_feature_bc_matrix", "raw_feature_bc_matrix", "outs") and p.parent.name:
        return p.parent.name
    name = p.name
    for suffix in (".gz", ".h5ad", ".h5"):
        name = name.removesuffix(suffix)
    return name


def dataset_format(path: str | Path) -> str:
    """Name the format of ``path`` from its suffix (a directory must be a 10x matrix directory).

    Parameters
    ----------
    path
        One file or directory of a dataset.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    InputError
        Missing path, incomplete 10x directory or unsupported suffix.
    """
    p = Path(path)
    if not p.exists():
        msg = (
            f"{p}: file not found; check the 'path' column of the sample sheet "
            "(paths are relative to the working directory)"
        )
        raise InputError(msg)
    if p.is_dir():
        parts = mtx_parts(p)
        missing = [k for k, v in parts.items() if v is None]
        if missing:
            msg = (
                f"{p}: a directory but not a 10x matrix directory (missing: {', '.join(missing)}); "
                f"{_FIX_FORMATS}"
            )
            raise InputError(msg)
        refuse_outside_links(p, [v for v in parts.values() if v is not None])
        return "10x_mtx"
    if p.suffix == ".h5ad":
        return "h5ad"
    if p.suffix == ".h5":
        return "10x_h5"
    msg = f"{p}: unsupported format (suffix {p.suffix or '(none)'!r}); {_FIX_FORMATS}"
    raise InputError(msg)


def _unreadable(path: Path, fmt: str, err: Exception) -> InputError:
    what = FORMATS[fmt]
    detail = str(err).splitlines()[0][:200] if str(err) else ""
    msg = (
        f"{path}: not a readable {what} ({type(err).__name__}: {detail}); the file is truncated, "
        "empty or of another type - download or export it again"
    )
    if fmt == "h5ad":
        msg += " (anndata.AnnData.write_h5ad)"
    return InputError(msg)


def read_10x_h5(path: str | Path) -> ad.AnnData:
    """Read a 10x HDF5 matrix (gene expression only).

    Parameters
    ----------
    path
        A 10x Genomics ``.h5`` feature-barcode matrix (v2 or v3).

    Returns
    -------
    AnnData
        Ensembl IDs as ``var_names``, symbols in ``var["gene_symbols"]``.

    Raises
    ------
    InputError
        When the file cannot be read, links outside itself or declares more data than it
        holds (:func:`tmesig.io.hdf5_guard.check_hdf5`).
    """
    import scanpy as sc

    path = Path(path)
    check_hdf5(path)
    genome = _v2_genome(path)
    try:
        a = sc.read_10x_h5(path, genome=genome, gex_only=True)
    except Exception as err:  # h5py/scanpy raise many types for foreign or corrupt files
        raise _unreadable(path, "10x_h5", err) from err
    if genome is not None:
        a.uns[READ_NOTES] = [
            f"a 10x (v2) file of several genomes: only the matrix of {genome} is read (the "
            "cells of another species keep only their few human counts)"
        ]
    return _ids_as_var_names(a)


def _v2_genome(path: Path) -> str | None:
    """The human genome of a v2 file of several genomes (one group each: barnyard/PDX);
    a molecule_info.h5 refused."""
    import h5py

    from .gene_names import HUMAN_GENOMES

    try:
        with h5py.File(path, "r") as f:
            groups = [k for k in f if isinstance(f[k], h5py.Group)]
            molecules = all(k in f for k in ("umi", "barcode_idx", "feature_idx"))
    except Exception:  # unreadable: reported by the reader
        return None
    if molecules:
        msg = (
            f"{path}: a 10x molecule_info.h5 file (one row per molecule), not a feature-barcode "
            "matrix; supply the filtered_feature_bc_matrix.h5 (or its directory) of the same "
            "Cell Ranger run"
        )
        raise InputError(msg)
    if "matrix" in groups or len(groups) < 2:
        return None
    human = [g for g in groups if g in HUMAN_GENOMES]
    if len(human) != 1:
        msg = (
            f"{path}: a 10x (v2) file of several genomes ({', '.join(groups)}) and "
            f"{'none' if not human else 'more than one'} of them human (GRCh38, hg19...); "
            "the signature library is human - supply the file of the human genome"
        )
        raise InputError(msg)
    return human[0]


def _ids_as_var_names(a: ad.AnnData) -> ad.AnnData:
    var = a.var.copy()
    if "gene_ids" in var.columns and ensembl_ids(var["gene_ids"]):
        symbols = a.var_names.astype(str)
        var.index = var["gene_ids"].astype(str).to_numpy()
        var["gene_symbols"] = symbols.to_numpy()
        var = var.drop(columns=["gene_ids"])
        a.var = var
    if "gene_symbols" not in a.var.columns:
        a.var["gene_symbols"] = a.var_names.astype(str)
    a.var.index.name = None
    return a


def read_any(path: str | Path) -> tuple[ad.AnnData, str]:
    """Read one file of a dataset into memory.

    Parameters
    ----------
    path
        ``.h5ad``, 10x ``.h5`` or 10x matrix directory.

    Returns
    -------
    adata, fmt
        The data and the format name (a key of :data:`FORMATS`).

    Raises
    ------
    InputError
        Missing file, unsupported format, unreadable content, an HDF5 file that links outside
        itself or declares more data than it holds, naming the file and the fix.
    """
    path = Path(path)
    fmt = dataset_format(path)
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); download or export it again"
        raise InputError(msg)
    if fmt == "10x_h5":
        return read_10x_h5(path), fmt
    if fmt == "10x_mtx":
        return read_10x_mtx(path), fmt
    check_hdf5(path)
    try:
        return ad.read_h5ad(path), fmt
    except Exception as err:  # h5py/anndata raise many types for corrupt files
        raise _unreadable(path, fmt, err) from err
