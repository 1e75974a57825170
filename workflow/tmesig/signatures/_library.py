"""The library: every set file of a directory, and its one-row-per-set table."""

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from tmesig import paths
from tmesig.io.errors import InputError

from ._geneset import GeneSet
from ._load import load_gene_set
from ._seeds import Seed, load_seeds

__all__ = ["library_table", "load_library"]

_LIBRARY_TABLE_COLUMNS: tuple[str, ...] = (
    "name",
    "title",
    "n_genes",
    "direction",
    "direction_note",
    "compartments",
    "category",
    "card",
    "gene_level",
    "seed",
    "seed_citation",
    "seed_doi",
    "section",
    "citation",
    "source",
    "licence",
    "references",
    "genes",
)


def _set_files(directory: str | Path | Sequence[str | Path] | None) -> tuple[Path, list[Path]]:
    """The library directory and its set files (sorted)."""
    if directory is not None and not isinstance(directory, (str, Path)):
        files = sorted(Path(f) for f in directory)
        return (Path(files[0]).parent if files else Path(".")), files
    directory = Path(directory) if directory is not None else paths.SIGNATURES_DIR
    if not directory.is_dir():
        msg = f"{directory}: signature directory not found; pass an existing directory."
        raise FileNotFoundError(msg)
    return directory, sorted(directory.glob("*.yaml"))


def load_library(
    directory: str | Path | Sequence[str | Path] | None = None,
    *,
    symbols: frozenset[str] | None = None,
) -> list[GeneSet]:
    """Load every ``*.yaml`` gene set of a directory (or an explicit list of set files).

    Parameters
    ----------
    directory : str, Path or sequence of them, optional
        Library directory (default ``tmesig.paths.SIGNATURES_DIR``), or the set files
        themselves (as Snakemake passes a rule's inputs).
    symbols : frozenset of str, optional
        Passed to :func:`load_gene_set` to check genes against the gene table.

    Returns
    -------
    list of GeneSet
        Sorted by name.

    Raises
    ------
    FileNotFoundError
        If the directory does not exist.
    InputError
        If it holds no set file, a file is invalid, or two files share a name.
    """
    directory, files = _set_files(directory)
    if not files:
        msg = f"{directory}: no *.yaml gene-set files; add at least one set file."
        raise InputError(msg)
    seeds = load_seeds()
    sets: dict[str, GeneSet] = {}
    origin: dict[str, Path] = {}
    for file in files:
        gene_set = load_gene_set(file, symbols=symbols, seeds=seeds)
        if gene_set.name in sets:
            msg = (
                f"{file}: duplicate set name '{gene_set.name}' (also in "
                f"{origin[gene_set.name]}); give each set a unique name."
            )
            raise InputError(msg)
        sets[gene_set.name] = gene_set
        origin[gene_set.name] = file
    return [sets[name] for name in sorted(sets)]


def library_table(
    sets: Iterable[GeneSet], *, seeds: Mapping[str, Seed] | None = None
) -> pd.DataFrame:
    """Summarise gene sets, one row per set.

    Parameters
    ----------
    sets : iterable of GeneSet
        Sets to summarise (row order kept).
    seeds : Mapping of str to Seed, optional
        Seed reviews, to show each set's seed citation and DOI; default :func:`load_seeds`.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, title, n_genes, direction, direction_note, compartments, category,
        card, gene_level, seed, seed_citation, seed_doi, section, citation, source, licence,
        references, genes``; list fields comma-joined (``references``: `` | ``-joined),
        missing provenance fields (and the citation/DOI of a seed not in ``seeds``) as
        empty strings. ``citation`` is the published set's own
        publication; ``seed_citation`` the review the set is tied to.
    """
    seeds = seeds if seeds is not None else load_seeds()
    rows = []
    for s in sets:
        prov = s.provenance
        seed = seeds.get(prov.get("seed", ""))
        rows.append(
            {
                "name": s.name,
                "title": s.title,
                "n_genes": len(s.genes),
                "direction": s.direction,
                "direction_note": s.direction_note,
                "compartments": ",".join(s.compartments),
                "category": s.category,
                "card": bool(s.card),
                "gene_level": bool(s.gene_level),
                "seed": prov.get("seed", ""),
                "seed_citation": seed.citation if seed else "",
                "seed_doi": seed.doi if seed else "",
                "section": prov.get("section", ""),
                "citation": prov.get("citation", ""),
                "source": prov.get("source", ""),
                "licence": prov.get("licence", ""),
                "references": " | ".join(prov.get("references", [])),
                "genes": ",".join(s.genes),
            }
        )
    return pd.DataFrame(rows, columns=list(_LIBRARY_TABLE_COLUMNS))
