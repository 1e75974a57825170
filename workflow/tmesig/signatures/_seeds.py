"""The seed reviews every gene set is tied to (``resources/signatures/seeds.tsv``).

Each set's ``provenance.seed`` names a review by id; the table gives its full citation,
DOI and licence. The ``file`` column is the name of the review's text under
``../shared/seeds/`` (not shipped): only the test that checks a set's section heading
against the text reads it, and :func:`tmesig.signatures.write_gmt` writes it into the GMT
description so the exported GMT is unchanged from earlier releases.
"""

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from tmesig import paths
from tmesig.io.errors import InputError

__all__ = ["SEEDS_TABLE", "Seed", "load_seeds"]

#: Tab-separated table of the seed reviews: ``id, citation, doi, licence, file``.
SEEDS_TABLE: Path = paths.SIGNATURES_DIR / "seeds.tsv"

_COLUMNS: tuple[str, ...] = ("id", "citation", "doi", "licence", "file")


@dataclass(frozen=True)
class Seed:
    """One seed review.

    Parameters
    ----------
    id : str
        Short id that set files use in ``provenance.seed`` (e.g. ``dai2024``).
    citation : str
        Full citation (authors, title, journal, year).
    doi : str
        DOI without the resolver prefix; empty when the review's text gives none.
    licence : str
        Licence of the review as stated in its text.
    file : str
        File name of the review's text under ``../shared/seeds/``.
    """

    id: str
    citation: str
    doi: str
    licence: str
    file: str

    @property
    def url(self) -> str:
        """``https://doi.org/<doi>``, or an empty string without a DOI."""
        return f"https://doi.org/{self.doi}" if self.doi else ""


@lru_cache(maxsize=4)
def _read_seeds(path: str) -> Mapping[str, Seed]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            msg = (
                f"{path}: seed table lacks column(s) {', '.join(missing)}; it needs the "
                f"tab-separated columns {', '.join(_COLUMNS)}."
            )
            raise InputError(msg)
        seeds: dict[str, Seed] = {}
        for row in reader:
            seed = Seed(**{c: (row[c] or "").strip() for c in _COLUMNS})
            if not seed.id or seed.id in seeds:
                msg = f"{path}: seed id {seed.id!r} is empty or repeated; give each a unique id."
                raise InputError(msg)
            seeds[seed.id] = seed
    return MappingProxyType(seeds)


def load_seeds(path: str | Path | None = None) -> Mapping[str, Seed]:
    """Read the table of seed reviews.

    Parameters
    ----------
    path : str or Path, optional
        Tab-separated table with columns ``id, citation, doi, licence, file``; default
        :data:`SEEDS_TABLE`.

    Returns
    -------
    Mapping of str to Seed
        Seed id -> :class:`Seed`, in table order (read-only).

    Raises
    ------
    FileNotFoundError
        If the table does not exist.
    InputError
        If a column is missing or an id is empty or repeated.
    """
    path = Path(path) if path is not None else SEEDS_TABLE
    if not path.is_file():
        msg = f"{path}: seed table not found; restore resources/signatures/seeds.tsv."
        raise FileNotFoundError(msg)
    return _read_seeds(str(path.resolve()))
