"""An ``.h5ad`` opened without reading its matrices: the large-input path of ingest.

:func:`open_h5ad` reads ``obs``, ``var`` and ``raw/var`` (with anndata's element reader,
which never unpickles) and leaves ``X``, ``raw/X`` and every layer in the file as
:class:`~tmesig.io.rows.RowStream` objects read a chunk of cells at a time. It offers the
attributes :func:`tmesig.io.find_counts` reads (``X``, ``layers``, ``raw.X``, ``raw.var``,
``var``, ``obs_names``), so the choice of the counts and every check are the in-memory ones.

Only matrices stored by rows can be read this way: :func:`streamable_cells` says whether a
file qualifies (every matrix a CSR group or a dense array); a file with a CSC matrix (or an
old layout without encoding attributes) is read into memory as before.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import pandas as pd

from .errors import InputError
from .hdf5_guard import check_hdf5
from .rows import H5Rows, RowStream

__all__ = ["BackedH5ad", "open_h5ad", "streamable_cells"]

_ROW_ENCODINGS = ("csr_matrix", "array")


@dataclass
class BackedRaw:
    """``.raw`` of a backed file: its matrix (a stream) and its ``var``."""

    X: RowStream
    var: pd.DataFrame


@dataclass
class BackedH5ad:
    """The parts of an ``.h5ad`` that ingest reads; matrices as streams over the open file."""

    obs: pd.DataFrame
    var: pd.DataFrame
    X: RowStream | None
    raw: BackedRaw | None
    handle: h5py.File
    layers: dict[str, RowStream] = field(default_factory=dict)

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    @property
    def n_vars(self) -> int:
        return len(self.var)

    @property
    def obs_names(self) -> pd.Index:
        return self.obs.index


def _matrices(f: h5py.File) -> dict[str, Any]:
    """Name (``X``, ``raw``, ``layers/<name>``) -> stored element of every matrix."""
    out = {}
    if "X" in f:
        out["X"] = f["X"]
    if "raw" in f and "X" in f["raw"]:
        out["raw"] = f["raw"]["X"]
    if "layers" in f:
        for name in f["layers"]:
            out[f"layers/{name}"] = f["layers"][name]
    return out


def _n_rows(group: h5py.Group) -> int:
    index = group.attrs.get("_index", "_index")
    return int(group[index].shape[0])


def streamable_cells(path: str | Path) -> int | None:
    """The cells of an ``.h5ad`` whose every matrix can be read by rows, else None.

    The file is first checked by :func:`tmesig.io.hdf5_guard.check_hdf5` (nothing outside the
    file, no declared size beyond the stored bytes).

    Parameters
    ----------
    path
        A dataset file.

    Returns
    -------
    int or None
        ``n_obs``; None for another format, a file the guard refuses, an unreadable file, a
        CSC matrix or an old layout (the in-memory reader then reads it, or says what is
        wrong, for each file in turn as always).
    """
    path = Path(path)
    if path.suffix != ".h5ad" or not path.is_file():
        return None
    try:
        check_hdf5(path)
    except InputError:  # refused by the in-memory reader, file by file in the usual order
        return None
    try:
        with h5py.File(path, "r") as f:
            for elem in _matrices(f).values():
                if elem.attrs.get("encoding-type") not in _ROW_ENCODINGS:
                    return None
            return _n_rows(f["obs"])
    except Exception:  # not HDF5, truncated, no obs...: the in-memory reader says what
        return None


def _stream(elem: Any, n_obs: int, handle: h5py.File) -> RowStream:
    shape = tuple(elem.attrs["shape"]) if isinstance(elem, h5py.Group) else elem.shape
    if int(shape[0]) != n_obs:
        msg = f"matrix {elem.name} has {shape[0]} rows but obs has {n_obs} cells"
        raise ValueError(msg)
    return RowStream(H5Rows(elem, shape, handle), int(shape[1]))


def open_h5ad(path: str | Path) -> BackedH5ad:
    """Open an ``.h5ad`` (see :func:`streamable_cells`), matrices left in the file.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    BackedH5ad
        ``obs`` and ``var`` in memory, every matrix a stream (the file stays open while they
        are used).
    """
    f = h5py.File(path, "r")
    try:
        obs = ad.io.read_elem(f["obs"])
        var = ad.io.read_elem(f["var"])
        elems = _matrices(f)
        streams = {k: _stream(v, len(obs), f) for k, v in elems.items()}
        raw = None
        if "raw" in streams:
            raw = BackedRaw(streams.pop("raw"), ad.io.read_elem(f["raw"]["var"]))
            if raw.X.shape[1] != len(raw.var):
                msg = f"raw/X has {raw.X.shape[1]} columns but raw/var {len(raw.var)} genes"
                raise ValueError(msg)
        x = streams.pop("X", None)
        if x is not None and x.shape[1] != len(var):
            msg = f"X has {x.shape[1]} columns but var {len(var)} genes"
            raise ValueError(msg)
        layers = {k.removeprefix("layers/"): v for k, v in streams.items()}
        for name, s in layers.items():
            if s.shape[1] != len(var):
                msg = f"layers/{name} has {s.shape[1]} columns but var {len(var)} genes"
                raise ValueError(msg)
    except Exception:
        f.close()
        raise
    return BackedH5ad(obs=obs, var=var, X=x, raw=raw, handle=f, layers=layers)
