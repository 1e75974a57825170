"""10x Genomics matrix directories: ``matrix.mtx``, ``features.tsv`` (or ``genes.tsv``) and
``barcodes.tsv``, gzipped or not, read with scipy/pandas (text only).

As they are downloaded: GEO gives the three files one prefix (``GSM123_s1_matrix.mtx.gz``),
read when the directory holds one such set (several sets: refused, one sample per directory);
a header line in ``barcodes.tsv`` or ``features.tsv`` (10x writes none) is dropped when the
counts then agree, and a note says so. A file of the directory may not be a symbolic link
leading out of it. Messages about a file that failed to parse never quote its content.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["ensembl_ids", "mtx_parts", "read_10x_mtx", "refuse_outside_links"]

#: Each file of a 10x directory, by the names 10x gives it (preferred first).
_NAMES = {
    "matrix": ("matrix.mtx.gz", "matrix.mtx"),
    "features": ("features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"),
    "barcodes": ("barcodes.tsv.gz", "barcodes.tsv"),
}
#: First entries of a header line (compared lower-cased) in barcodes.tsv or features.tsv.
_HEADER_WORDS = frozenset(
    {"", "x", "id", "barcode", "barcodes", "cell", "cells", "cell_id", "cellid", "gene", "genes"}
    | {"gene_id", "gene_ids", "feature", "features", "feature_id", "ensembl", "ensembl_id"}
)
#: ``uns`` key of the notes a reader leaves for the ingest summary (see :mod:`.formats`).
_READ_NOTES = "tmesig_read_notes"


def _prefixed(path: Path, names: tuple[str, ...]) -> list[tuple[str, Path]]:
    """``(prefix, file)`` of the files of ``path`` named ``<prefix><name>`` (GEO's style)."""
    found = []
    for name in names:
        found += [(p.name[: -len(name)], p) for p in path.glob(f"*{name}") if p.name != name]
    return sorted(found)


def mtx_parts(path: Path) -> dict[str, Path | None]:
    """The three files of a 10x directory (None: missing), by 10x's names or one GEO prefix.

    Parameters
    ----------
    path
        The directory.

    Returns
    -------
    dict
        ``matrix``, ``features`` and ``barcodes``: each file, or None when missing.

    Raises
    ------
    InputError
        Files of several prefixes (several samples in one directory).
    """
    parts: dict[str, Path | None] = {}
    for part, names in _NAMES.items():
        parts[part] = next((path / n for n in names if (path / n).exists()), None)
    if all(parts.values()):
        return parts
    found = {part: _prefixed(path, names) for part, names in _NAMES.items()}
    prefixes = sorted({pre for files in found.values() for pre, _ in files})
    if len(prefixes) > 1:
        msg = (
            f"{path}: the directory holds 10x files of {len(prefixes)} prefixes "
            f"({', '.join(prefixes[:5])}: several samples?); put each sample's matrix, features "
            "and barcodes files in a directory of its own and list the directories in the "
            "sample sheet's path, separated by ','"
        )
        raise InputError(msg)
    for part, files in found.items():
        if parts[part] is None and files:
            parts[part] = files[0][1]
    return parts


def refuse_outside_links(folder: Path, files: list[Path]) -> None:
    """Refuse a file of a 10x directory that is a symbolic link leading out of the directory.

    Parameters
    ----------
    folder
        The directory.
    files
        Its files that are read.

    Raises
    ------
    InputError
        Naming the link and the fix (copy the file in).
    """
    home = folder.resolve()
    for f in files:
        if f.is_symlink() and not f.resolve().is_relative_to(home):
            msg = (
                f"{folder}: {f.name} is a symbolic link to a file outside the directory; tmesig "
                "reads a 10x directory only from its own files (a link can point at any local "
                "file, whose lines would be read as genes or barcodes). Fix: copy the file into "
                "the directory instead of linking it"
            )
            raise InputError(msg)


def ensembl_ids(ids: Any) -> bool:
    """Whether a 10x id column holds Ensembl IDs (a custom reference may hold anything: its
    names are then the genes' names).

    Parameters
    ----------
    ids
        The id column (a multi-genome prefix such as ``GRCh38_`` is allowed).

    Returns
    -------
    bool
        At least half of them are Ensembl gene IDs.
    """
    from .genes import ENSEMBL_RE

    ids = pd.Index(np.asarray(ids, dtype=str))
    ids = ids.str.replace(r"^[A-Za-z0-9]+_+(?=ENS)", "", regex=True)  # multi-genome prefix
    return bool(len(ids)) and float(np.mean(ids.str.match(ENSEMBL_RE.pattern))) >= 0.5


def _without_header(table: pd.DataFrame, n: int, part: Path, notes: list[str]) -> pd.DataFrame:
    """``table`` without its first line when that is a header and the rest has ``n`` lines."""
    if len(table) == n + 1 and str(table.iloc[0, 0]).strip().lower() in _HEADER_WORDS:
        notes.append(f"{part.name}: its first line is a header ({table.iloc[0, 0]!r}), not read")
        return table.iloc[1:].reset_index(drop=True)
    return table


def read_10x_mtx(path: str | Path) -> ad.AnnData:
    """Read a 10x matrix directory (gene expression only).

    Accepts CellRanger v3 (``features.tsv``) and v2 (``genes.tsv``) layouts, gzipped or not,
    named as 10x names them or with one prefix (GEO), a header line dropped (noted).

    Parameters
    ----------
    path
        The directory.

    Returns
    -------
    AnnData
        Ensembl IDs as ``var_names`` (the names, when the ids are not Ensembl IDs), symbols in
        ``var["gene_symbols"]``; notes in ``uns["tmesig_read_notes"]``.

    Raises
    ------
    InputError
        When a file cannot be parsed (the message names it, never its content), is a
        symbolic link leading out of the directory, or the files do not belong together.
    """
    import scipy.io
    import scipy.sparse as sp

    path = Path(path)
    parts = mtx_parts(path)
    refuse_outside_links(path, [v for v in parts.values() if v is not None])
    m = _parse_part(path, parts["matrix"], "a Matrix Market matrix", scipy.io.mmread)
    m = sp.csr_matrix(m.T, dtype=np.float32)
    feats = _parse_part(path, parts["features"], "a tab-separated features table", _read_tsv)
    barcodes = _parse_part(path, parts["barcodes"], "a barcode list", _read_tsv)
    notes: list[str] = []
    feats = _without_header(feats, m.shape[1], parts["features"], notes)
    barcodes = _without_header(barcodes, m.shape[0], parts["barcodes"], notes)[0]
    if feats.shape[1] < 2 or (feats[0] == "").any():
        msg = (
            f"{path}: {parts['features'].name} is not a 10x features table (it needs 2 or 3 "
            "tab-separated columns: gene id, gene name[, feature type], no empty id); export "
            "the directory again"
        )
        raise InputError(msg)
    if m.shape != (len(barcodes), len(feats)):
        msg = (
            f"{path}: {parts['matrix'].name} is {m.shape[1]} features × {m.shape[0]} barcodes "
            f"but the directory lists {len(feats)} features and {len(barcodes)} barcodes; the "
            "files do not belong together - export the directory again"
        )
        raise InputError(msg)
    ids = feats[0].to_numpy()
    names = feats[1].to_numpy()
    keep = np.ones(len(feats), dtype=bool)
    if feats.shape[1] > 2:
        keep = (feats[2] == "Gene Expression").to_numpy()
    index = ids[keep] if ensembl_ids(ids[keep]) else names[keep]
    var = pd.DataFrame({"gene_symbols": names[keep]}, index=pd.Index(index, name=None))
    obs = pd.DataFrame(index=pd.Index(barcodes.to_numpy(), name=None))
    out = ad.AnnData(X=m[:, np.flatnonzero(keep)], obs=obs, var=var)
    if notes:
        out.uns[_READ_NOTES] = notes
    return out


def _read_tsv(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)


def _parse_part(folder: Path, part: Path, what: str, parse: Callable[[str], Any]) -> Any:
    """``parse(part)``; a failure names the file and the format, never the file's content."""
    try:
        return parse(str(part))
    except Exception as err:  # malformed text / mtx raise many types
        msg = (
            f"{folder}: {part.name} is not {what} ({type(err).__name__}); the file is truncated, "
            "empty or of another type - export the directory again"
        )
        raise InputError(msg) from None
