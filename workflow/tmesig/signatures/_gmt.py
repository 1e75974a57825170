"""GMT files: the library exported for gseapy, and any GMT read back as set -> genes."""

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from tmesig.io.errors import InputError

from ._geneset import GeneSet
from ._seeds import Seed, load_seeds

__all__ = ["read_gmt", "write_gmt"]


def _clean_field(text: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", text).strip()


def _seed_label(gene_set: GeneSet, seeds: Mapping[str, Seed]) -> str:
    """The seed as the GMT names it: its id in the seeds table (citation and DOI there)."""
    return str(gene_set.provenance.get("seed", ""))


def write_gmt(
    sets: Iterable[GeneSet], path: str | Path, *, seeds: Mapping[str, Seed] | None = None
) -> None:
    """Write gene sets as a GMT file.

    Each line is ``name <TAB> title | direction | seed <TAB> gene ...``, where ``seed``
    is the file name of the seed review's text (the ``file`` column of the seed table;
    a seed id not in the table is written as it is).

    Parameters
    ----------
    sets : iterable of GeneSet
        Sets to write (in the given order).
    path : str or Path
        Output file; parent directories are created.
    seeds : Mapping of str to Seed, optional
        Seed reviews; default :func:`load_seeds`.

    Raises
    ------
    ValueError
        If two sets share a name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seeds = seeds if seeds is not None else load_seeds()
    seen: set[str] = set()
    lines = []
    for gene_set in sets:
        if gene_set.name in seen:
            msg = f"{path}: duplicate set name '{gene_set.name}'; write each set once."
            raise ValueError(msg)
        seen.add(gene_set.name)
        description = " | ".join(
            (
                _clean_field(gene_set.title),
                gene_set.direction,
                _clean_field(_seed_label(gene_set, seeds)),
            )
        )
        lines.append("\t".join((gene_set.name, description, *gene_set.genes)))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def read_gmt(path: str | Path) -> dict[str, list[str]]:
    """Read a GMT file.

    Parameters
    ----------
    path : str or Path
        GMT file (name, description, genes; tab-separated).

    Returns
    -------
    dict of str to list of str
        Set name -> genes in file order (empty fields skipped).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If a line has fewer than two fields or a set name repeats.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: GMT file not found; check the path."
        raise FileNotFoundError(msg)
    out: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                msg = (
                    f"{path}: line {lineno} has {len(fields)} field(s); a GMT line needs "
                    "name, description and genes separated by tabs."
                )
                raise InputError(msg)
            name = fields[0].strip()
            if name in out:
                msg = f"{path}: line {lineno} repeats set name '{name}'; keep one line per set."
                raise InputError(msg)
            out[name] = [g.strip() for g in fields[2:] if g.strip()]
    return out
