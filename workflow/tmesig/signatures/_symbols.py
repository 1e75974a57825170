"""The gene symbols a set may use: the ``gene_name`` column of the shipped gene table."""

import csv
from functools import lru_cache
from pathlib import Path

from tmesig import paths
from tmesig.io.errors import InputError

__all__ = ["load_gene_symbols"]


@lru_cache(maxsize=4)
def _read_symbols(path: str) -> frozenset[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if reader.fieldnames is None or "gene_name" not in reader.fieldnames:
            msg = (
                f"{path}: no 'gene_name' column (columns: {reader.fieldnames}); "
                "pass the tab-separated gene table resources/genes/grch38_genes.tsv."
            )
            raise InputError(msg)
        return frozenset(row["gene_name"] for row in reader if row["gene_name"])


def load_gene_symbols(path: str | Path | None = None) -> frozenset[str]:
    """Return the gene symbols of the gene table.

    Parameters
    ----------
    path : str or Path, optional
        Tab-separated table with a ``gene_name`` column; default
        ``tmesig.paths.GENE_TABLE`` (``resources/genes/grch38_genes.tsv``).

    Returns
    -------
    frozenset of str
        All non-empty values of ``gene_name``.

    Raises
    ------
    FileNotFoundError
        If the table does not exist.
    InputError
        If it has no ``gene_name`` column.
    """
    path = Path(path) if path is not None else paths.GENE_TABLE
    if not path.is_file():
        msg = f"{path}: gene table not found; restore resources/genes/grch38_genes.tsv."
        raise FileNotFoundError(msg)
    return _read_symbols(str(path.resolve()))
