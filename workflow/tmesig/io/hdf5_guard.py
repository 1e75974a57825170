"""HDF5 files (``.h5ad``, 10x ``.h5``) checked before a reader opens them.

The sample sheet's ``sha256`` covers the bytes of one file. HDF5 can keep a dataset's data in
other files (external storage, external links, virtual datasets): such data would change
between runs while the checksum still passes, and the same mechanism reads any local file
(``/etc/passwd``...) into the matrix. HDF5 also lets a small file *declare* a huge array
that a reader allocates before finding the data missing. :func:`check_hdf5` walks every
link, group, dataset and attribute with h5py, without reading any data, and refuses:

- external links, user-defined links, virtual datasets and external storage;
- a dataset or attribute whose declared size (elements × item size) exceeds what its stored
  bytes can hold: the bytes themselves when it is not compressed, at most
  :data:`MAX_COMPRESSION_RATIO` times them when it is (deflate, HDF5's best codec, cannot
  reach 1,100:1), stored bytes counted at most up to the file's size;
- more than :data:`MAX_OBJECTS` links (a file built to make the walk itself slow).

A file h5py cannot open is left to the reader, whose message says it is unreadable.
"""

from pathlib import Path
from typing import Any

import h5py

from .errors import InputError

__all__ = ["MAX_COMPRESSION_RATIO", "MAX_OBJECTS", "check_hdf5"]

#: Largest decompressed/stored ratio accepted for a filtered (compressed) dataset.
MAX_COMPRESSION_RATIO = 1100
#: Most links walked in one file.
MAX_OBJECTS = 200_000
#: Bytes any dataset or attribute may declare beyond its stored bytes (fill values of tiny
#: or empty arrays).
_SLACK = 1 << 20
_FIX = (
    "write a self-contained file on a machine you trust (e.g. adata = anndata.read_h5ad(path); "
    "adata.write_h5ad(new_path)) and give that file"
)


def check_hdf5(path: str | Path) -> None:
    """Refuse an HDF5 file that reaches outside itself or declares more data than it holds.

    Parameters
    ----------
    path
        An ``.h5ad`` or 10x ``.h5`` file.

    Raises
    ------
    InputError
        Naming the file, the object (its HDF5 path), the problem and the fix.
    """
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except Exception:  # not HDF5, truncated...: the format reader says so
        return
    with f:
        _Walk(path, path.stat().st_size).run(f)


class _Walk:
    """Depth-first walk over the links of one open file (each object checked once)."""

    def __init__(self, path: Path, file_size: int) -> None:
        self.path = path
        self.file_size = file_size
        self.seen: set[int] = set()
        self.links = 0

    def refuse(self, where: str, problem: str, fix: str = _FIX) -> None:
        raise InputError(f"{self.path}: {where}: {problem}. Fix: {fix}")

    def run(self, root: h5py.File) -> None:
        self.attributes(root, "/")
        stack: list[tuple[h5py.Group, str]] = [(root, "")]
        while stack:
            group, prefix = stack.pop()
            for name in group:
                where = f"{prefix}/{name}"
                obj = self.follow(group, name, where)
                if obj is None:
                    continue
                key = h5py.h5o.get_info(obj.id).addr
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.attributes(obj, where)
                if isinstance(obj, h5py.Group):
                    stack.append((obj, where))
                elif isinstance(obj, h5py.Dataset):
                    self.dataset(obj, where)

    def follow(self, group: h5py.Group, name: str, where: str) -> Any:
        """The object a hard link names; None for a soft link (its target is walked anyway)."""
        self.links += 1
        if self.links > MAX_OBJECTS:
            self.refuse(
                "(whole file)",
                f"more than {MAX_OBJECTS:,} HDF5 objects, far more than an AnnData or 10x file has",
                "export the dataset again with anndata or Cell Ranger",
            )
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            self.refuse(
                where,
                f"an external link to {link.filename[:120]!r}: the data would be read from "
                "another file, which the sha256 check does not cover (and which can be any "
                "local file)",
            )
        if isinstance(link, h5py.SoftLink):
            return None
        if not isinstance(link, h5py.HardLink):
            self.refuse(where, f"an HDF5 link of an unsupported kind ({type(link).__name__})")
        return group.get(name)

    def dataset(self, d: h5py.Dataset, where: str) -> None:
        if d.is_virtual:
            self.refuse(
                where,
                "a virtual dataset: its data are read from other files, which the sha256 check "
                "does not cover",
            )
        if d.external:
            self.refuse(
                where,
                f"data kept in {len(d.external)} external file(s) outside the HDF5 file, which "
                "the sha256 check does not cover (and which can be any local file)",
            )
        nfilters = d.id.get_create_plist().get_nfilters()
        ratio = MAX_COMPRESSION_RATIO if nfilters else 1
        self.size(where, "dataset", d, d.id.get_storage_size(), ratio)

    def attributes(self, obj: Any, where: str) -> None:
        for name in obj.attrs:
            attr = obj.attrs.get_id(name)
            try:
                stored = attr.get_storage_size()
            except RuntimeError:  # HDF5 reports an empty attribute's 0 bytes as an error
                stored = 0
            self.size(f"{where} (attribute {name[:60]!r})", "attribute", attr, stored, 1)

    def size(self, where: str, what: str, obj: Any, stored: int, ratio: int) -> None:
        """Refuse a declared size (``obj.shape`` × ``obj.dtype``) its stored bytes cannot hold."""
        shape, dtype = obj.shape, obj.dtype
        n = 1
        for dim in shape or ():
            n *= int(dim)
        declared = n * int(dtype.itemsize)
        limit = min(int(stored), self.file_size) * ratio + _SLACK
        if declared > limit:
            self.refuse(
                where,
                f"the {what} declares {declared:,} bytes ({' × '.join(map(str, shape))} of "
                f"{dtype}) but the file holds {min(int(stored), self.file_size):,} bytes of it; "
                "reading it would allocate memory for data that is not there (a truncated, "
                "corrupt or hostile file)",
                "download or export the file again",
            )
