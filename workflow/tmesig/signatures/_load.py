"""Loading one gene-set YAML file: parse, check, build a :class:`GeneSet`."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tmesig.io.errors import InputError

from ._geneset import GeneSet, plain
from ._schema import SIGNATURE_SCHEMA, schema_errors
from ._seeds import Seed, load_seeds

__all__ = ["load_gene_set"]


def _read_set_file(path: Path) -> dict[str, Any]:
    """Parse the file; it must exist and hold a YAML mapping."""
    if not path.is_file():
        msg = f"{path}: gene-set file not found; check the path or the library directory."
        raise FileNotFoundError(msg)
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML ({exc}); fix the syntax of the set file."
        raise InputError(msg) from exc
    if not isinstance(data, dict):
        msg = (
            f"{path}: expected a YAML mapping with keys name, title, genes, direction, "
            f"compartments, mechanism, category, card, provenance; got {type(data).__name__}."
        )
        raise InputError(msg)
    return data


def _check_duplicate_genes(path: Path, data: Mapping[str, Any]) -> None:
    """Name every gene listed twice (before the schema's terser ``uniqueItems``)."""
    genes = data.get("genes")
    if not (isinstance(genes, list) and all(isinstance(g, str) for g in genes)):
        return
    seen: set[str] = set()
    dups: set[str] = set()
    for gene in genes:
        (dups if gene in seen else seen).add(gene)
    if dups:
        listed = ", ".join(sorted(dups))
        msg = f"{path}: gene(s) listed more than once: {listed}; keep one copy."
        raise InputError(msg)


def _check_schema(path: Path, data: Mapping[str, Any], schema: str | Path | None) -> None:
    errors = schema_errors(data, schema=schema)
    if errors:
        details = "; ".join(errors)
        msg = (
            f"{path}: does not match the signature schema ({details}); "
            f"see {SIGNATURE_SCHEMA.name} and resources/signatures/README.md."
        )
        raise InputError(msg)


def _check_name(path: Path, data: Mapping[str, Any]) -> None:
    if data["name"] != path.stem:
        msg = (
            f"{path}: name '{data['name']}' differs from the file stem '{path.stem}'; "
            "rename the file or the set so they match."
        )
        raise InputError(msg)


def _check_seed(path: Path, data: Mapping[str, Any], seeds: Mapping[str, Seed]) -> None:
    seed = data["provenance"]["seed"]
    if seed not in seeds:
        msg = (
            f"{path}: provenance seed '{seed}' is not a seed review id "
            f"(known: {', '.join(seeds)}); use an id of resources/signatures/seeds.tsv."
        )
        raise InputError(msg)


def _check_symbols(path: Path, data: Mapping[str, Any], symbols: frozenset[str]) -> None:
    unknown = [g for g in data["genes"] if g not in symbols]
    if unknown:
        msg = (
            f"{path}: gene(s) not in the gene table: {', '.join(unknown)}; use the "
            "gene_name spelling of resources/genes/grch38_genes.tsv or drop them "
            "and record the drop in notes."
        )
        raise InputError(msg)


def load_gene_set(
    path: str | Path,
    *,
    symbols: frozenset[str] | None = None,
    schema: str | Path | None = None,
    seeds: Mapping[str, Seed] | None = None,
) -> GeneSet:
    """Load and validate one gene-set YAML file.

    Parameters
    ----------
    path : str or Path
        The ``<name>.yaml`` file.
    symbols : frozenset of str, optional
        Known gene symbols (see :func:`load_gene_symbols`); when given, every gene
        of the set must be among them.
    schema : str or Path, optional
        Schema file; default :data:`SIGNATURE_SCHEMA`.
    seeds : Mapping of str to Seed, optional
        Known seed reviews; default :func:`load_seeds` (``resources/signatures/seeds.tsv``).

    Returns
    -------
    GeneSet
        The validated set.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InputError
        If the file is not valid YAML, does not match the schema, its ``name``
        differs from the file stem, a gene is listed twice, its seed is not a known
        seed id, or (with ``symbols``) a gene is not in the gene table. The message
        names the file. (:class:`InputError` is a ``ValueError``.)
    """
    path = Path(path)
    data = _read_set_file(path)
    _check_duplicate_genes(path, data)
    _check_schema(path, data, schema)
    _check_name(path, data)
    _check_seed(path, data, seeds if seeds is not None else load_seeds())
    if symbols is not None:
        _check_symbols(path, data, symbols)
    return GeneSet(
        name=data["name"],
        title=data["title"],
        genes=tuple(data["genes"]),
        direction=data["direction"],
        compartments=tuple(data["compartments"]),
        mechanism=data["mechanism"],
        card=data["card"],
        provenance=plain(data["provenance"]),
        notes=data.get("notes", ""),
        category=data["category"],
        direction_note=data.get("direction_note", ""),
        gene_level=bool(data.get("gene_level", False)),
    )
