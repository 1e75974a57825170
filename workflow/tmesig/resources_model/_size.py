"""How big a rule's input matrix is, read from file headers without loading any value."""

import gzip
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import h5py

__all__ = ["EMPTY", "MatrixSize", "largest_matrix", "matrix_size"]

#: Bytes per stored value of an unreadable matrix file (a float32 value and an int32 index).
_BYTES_PER_VALUE = 8
#: Share of non-zero values assumed when only the number of stored values is known.
_DENSITY = 0.1
#: Text read from the head of a delimited file to estimate its shape.
_HEAD_BYTES = 1 << 16
_HDF5 = (".h5ad", ".h5", ".hdf5")
_TEXT = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv.gz")
_MTX = (".mtx", ".mtx.gz")


@dataclass(frozen=True)
class MatrixSize:
    """Cells, genes and stored values of a matrix (a header's figures or an estimate).

    Attributes
    ----------
    n_obs, n_vars : int
        Cells and genes (their product is what a dense copy costs).
    nnz : int
        Stored values (every value of a dense matrix).
    exact : bool
        False when estimated from a file's size (unknown or unreadable format).
    """

    n_obs: int
    n_vars: int
    nnz: int
    exact: bool = True

    @property
    def entries(self) -> int:
        """``n_obs × n_vars``: the values of a dense copy."""
        return self.n_obs * self.n_vars

    def part(self, share: float) -> "MatrixSize":
        """The size of a block holding ``share`` (0–1] of the cells (all genes)."""
        share = min(1.0, max(float(share), 0.0))
        if share == 1.0:
            return self
        return MatrixSize(math.ceil(self.n_obs * share), self.n_vars, math.ceil(self.nnz * share))


#: No matrix among the inputs: the rule's fixed cost only.
EMPTY = MatrixSize(0, 0, 0)


def _estimate(path: Path) -> MatrixSize:
    """A size from the bytes on disk (directories: all their files), for unreadable formats."""
    files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else [path]
    nbytes = sum(f.stat().st_size * (4 if f.name.endswith(".gz") else 1) for f in files)
    nnz = nbytes // _BYTES_PER_VALUE
    side = int((nnz / _DENSITY) ** 0.5)
    return MatrixSize(side, side, int(nnz), exact=False)


def _sparse_group(group: h5py.Group, shape_key: str = "shape") -> tuple[int, int, int]:
    shape = group.attrs.get(shape_key, group.attrs.get("h5sparse_shape"))
    if shape is None and shape_key in group:
        shape = group[shape_key][()]
    n_rows, n_cols = (int(v) for v in shape)
    return n_rows, n_cols, int(group["data"].shape[0])


def _from_hdf5(path: Path) -> MatrixSize:
    """h5ad ``X`` (CSR, CSC or dense; else ``raw/X``), or a 10x ``.h5`` (v3 ``matrix`` or v2)."""
    with h5py.File(path, "r") as f:
        x = f.get("X", f.get("raw/X"))
        if isinstance(x, h5py.Dataset):
            n_obs, n_vars = (int(v) for v in x.shape[:2])
            return MatrixSize(n_obs, n_vars, n_obs * n_vars)
        if isinstance(x, h5py.Group):
            n_obs, n_vars, nnz = _sparse_group(x)
            return MatrixSize(n_obs, n_vars, nnz)
        for name in ("matrix", *f.keys()):  # 10x: genes × cells, shape as a dataset
            g = f.get(name)
            if isinstance(g, h5py.Group) and {"shape", "data", "indptr"} <= set(g.keys()):
                n_vars, n_obs, nnz = _sparse_group(g)
                return MatrixSize(n_obs, n_vars, nnz)
    raise ValueError("no matrix")


def _from_mtx(path: Path) -> MatrixSize:
    """MatrixMarket header: ``rows cols [nnz]`` after the comments (10x: genes × cells)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        for line in handle:
            if line.strip() and not line.startswith("%"):
                fields = [int(v) for v in line.split()]
                n_vars, n_obs = fields[0], fields[1]
                nnz = fields[2] if len(fields) > 2 else n_obs * n_vars
                return MatrixSize(n_obs, n_vars, nnz)
    raise ValueError("no size line")


def _from_text(path: Path) -> MatrixSize:
    """Delimited dense text: columns and non-zero share from its head, rows from its bytes."""
    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        head = stream.read(_HEAD_BYTES)
        ratio = len(head) / max(1, raw.tell())  # text bytes per file byte
    lines = head.decode("utf-8", "replace").splitlines()[1:-1] or [""]
    sep = "\t" if "\t" in lines[0] else ","
    fields = [v for line in lines for v in line.split(sep)[1:]]
    n_cols = max(1, len(lines[0].split(sep)) - 1)
    nonzero = sum(v.strip() not in ("0", "0.0", "") for v in fields) / max(1, len(fields))
    n_rows = int(path.stat().st_size * ratio / max(1, len(head) / (len(lines) + 1)))
    return MatrixSize(n_rows, n_cols, int(n_rows * n_cols * nonzero), exact=False)


def _mtx_in(folder: Path) -> Path | None:
    return next(
        (folder / n for n in ("matrix.mtx.gz", "matrix.mtx") if (folder / n).is_file()), None
    )


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if path.is_dir():
        return "mtx_dir"
    for kind, suffixes in (("hdf5", _HDF5), ("mtx", _MTX), ("text", _TEXT)):
        if name.endswith(suffixes):
            return kind
    return None


def matrix_size(path: str | Path) -> MatrixSize | None:
    """The size of the matrix in ``path``, from its header; ``None`` when it holds none.

    Parameters
    ----------
    path
        An ``.h5ad`` (CSR, CSC or dense ``X``), a 10x ``.h5``, a MatrixMarket ``.mtx(.gz)``
        or a directory holding one (10x), or dense delimited text (``.csv``, ``.txt``,
        ``.tsv.gz``, gzipped or not: estimated from its head). A file of another kind (a
        table, a YAML file) or a missing path is no matrix; a matrix file whose header cannot
        be read is estimated from its size on disk (``exact`` False).

    Returns
    -------
    MatrixSize or None
    """
    p = Path(path)
    kind = _kind(p) if p.exists() else None
    if kind is None:
        return None
    if kind == "mtx_dir":
        mtx = _mtx_in(p)
        if mtx is None:
            return None
        p, kind = mtx, "mtx"
    read = {"hdf5": _from_hdf5, "mtx": _from_mtx, "text": _from_text}[kind]
    try:
        size = read(p)
    except (OSError, ValueError, KeyError, TypeError, EOFError, io.UnsupportedOperation):
        return _estimate(p)
    return MatrixSize(size.n_obs, size.n_vars, min(size.nnz, size.entries), size.exact)


def largest_matrix(paths: Iterable[str | Path]) -> MatrixSize:
    """The input matrix with the most stored values; :data:`EMPTY` when there is none.

    Parameters
    ----------
    paths
        A rule's input files and directories (Snakemake's ``input``); tables, YAML files
        and paths that do not exist yet are skipped.

    Returns
    -------
    MatrixSize
    """
    sizes = [s for s in map(matrix_size, paths) if s is not None]
    return max(sizes, key=lambda s: (s.nnz, s.entries), default=EMPTY)
