"""The tmesig signature library: one YAML file per gene set.

Each file in ``resources/signatures/`` describes one gene set taken from the seed
reviews on immune-checkpoint-blockade (ICB) resistance in NSCLC, or a published set
that fits a mechanism the seeds discuss. The file format is fixed by
``workflow/schemas/signature.schema.yaml``; this module loads, validates and exports
the library (GMT, table).

Direction convention: ``up`` means a high score marks resistance; ``down`` means a
LOW score marks resistance (e.g. antigen presentation, T-cell-inflamed GEP).
"""

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import jsonschema
import pandas as pd
import yaml

from tmesig import paths

__all__ = [
    "CARD_ITEMS",
    "COMPARTMENTS",
    "DIRECTIONS",
    "SIGNATURE_SCHEMA",
    "CardItem",
    "GeneSet",
    "library_table",
    "load_gene_set",
    "load_gene_symbols",
    "load_library",
    "load_schema",
    "read_gmt",
    "write_gmt",
]

#: Tumour-microenvironment compartments a gene set may apply to.
COMPARTMENTS: tuple[str, ...] = (
    "T_NK",
    "B_plasma",
    "myeloid",
    "mast",
    "neutrophil",
    "fibroblast",
    "endothelial",
    "epithelial",
    "malignant",
    "any",
)

#: Allowed values of ``direction``.
DIRECTIONS: tuple[str, ...] = ("up", "down")

#: JSON schema (YAML) of one set file.
SIGNATURE_SCHEMA: Path = paths.REPO_ROOT / "workflow" / "schemas" / "signature.schema.yaml"

_LIBRARY_TABLE_COLUMNS: tuple[str, ...] = (
    "name",
    "title",
    "n_genes",
    "direction",
    "compartments",
    "card",
    "seed",
    "section",
    "citation",
    "source",
    "licence",
    "genes",
)


class CardItem(NamedTuple):
    """A design-card requirement: the set that must exist and genes it must contain.

    Attributes
    ----------
    set_name : str
        Name (file stem) of the gene set implementing the card item.
    genes : tuple of str
        Genes the set must contain (symbols as spelled in the gene table).
    """

    set_name: str
    genes: tuple[str, ...]


#: The nine design-card items -> required set name and required genes.
#: BMAL1 is spelled ARNTL and STING1 TMEM173 in ``resources/genes/grch38_genes.tsv``.
CARD_ITEMS: Mapping[str, CardItem] = MappingProxyType(
    {
        "PD-L1 (CD274) with PD-L2": CardItem("cd274_pdl1", ("CD274", "PDCD1LG2")),
        "CD73 (NT5E) adenosine axis": CardItem("nt5e_adenosine", ("NT5E", "ENTPD1", "ADORA2A")),
        "LAG-3 with FGL1": CardItem("lag3_fgl1", ("LAG3", "FGL1")),
        "TIM-3 (HAVCR2) and its ligands": CardItem(
            "havcr2_tim3", ("HAVCR2", "LGALS9", "CEACAM1", "HMGB1")
        ),
        "TIGIT with CD155/CD112": CardItem("tigit_pvr", ("TIGIT", "PVR", "NECTIN2")),
        "xCT (SLC7A11)": CardItem("slc7a11_xct", ("SLC7A11",)),
        "B2M and MHC-I antigen presentation": CardItem(
            "b2m_mhc1_apm", ("B2M", "HLA-A", "HLA-B", "HLA-C", "TAP1", "TAP2", "TAPBP")
        ),
        "IFN-gamma response (JAK1/JAK2)": CardItem(
            "ifng_jak_stat", ("IFNGR1", "IFNGR2", "JAK1", "JAK2", "STAT1")
        ),
        "Circadian rhythm disruption": CardItem(
            "circadian_crd",
            ("CLOCK", "ARNTL", "PER1", "PER2", "PER3", "CRY1", "CRY2", "NR1D1", "CCND1"),
        ),
    }
)


@dataclass(frozen=True)
class GeneSet:
    """One gene set of the signature library.

    Parameters
    ----------
    name : str
        snake_case identifier, equal to the file stem.
    title : str
        Human-readable title.
    genes : tuple of str
        Gene symbols (gene table spelling), unique, in file order.
    direction : str
        ``"up"`` (high score = resistance) or ``"down"`` (low score = resistance).
    compartments : tuple of str
        Compartments (from :data:`COMPARTMENTS`) where the set applies.
    mechanism : str
        One line describing the mechanism.
    card : bool
        True for the nine design-card items.
    provenance : dict
        ``seed`` and ``section`` always; ``citation``, ``source``, ``licence``,
        ``resource``, ``source_set`` (and optionally ``renamed``, ``dropped``,
        ``positive_weight_only``) for published sets.
    notes : str, optional
        Free text (dropped/renamed symbols, direction rationale).
    """

    name: str
    title: str
    genes: tuple[str, ...]
    direction: str
    compartments: tuple[str, ...]
    mechanism: str
    card: bool
    provenance: dict = field(compare=True)
    notes: str = ""

    def __hash__(self) -> int:
        return hash((self.name, self.genes, self.direction, self.compartments))

    @property
    def is_published(self) -> bool:
        """Whether the set is a published list (has a citation)."""
        return "citation" in self.provenance

    def to_dict(self) -> dict[str, Any]:
        """Return the set as a plain dict in file layout (lists, not tuples).

        Returns
        -------
        dict
            Keys in file order; ``notes`` only when not empty. Writing it with
            ``yaml.safe_dump`` gives a valid set file.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "genes": list(self.genes),
            "direction": self.direction,
            "compartments": list(self.compartments),
            "mechanism": self.mechanism,
            "card": self.card,
            "provenance": _plain(self.provenance),
        }
        if self.notes:
            out["notes"] = self.notes
        return out


def _plain(value: Any) -> Any:
    """Deep-copy nested mappings/sequences into plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@lru_cache(maxsize=4)
def _schema_validator(schema_path: str) -> jsonschema.protocols.Validator:
    schema = load_schema(Path(schema_path))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    """Load the JSON schema of one set file.

    Parameters
    ----------
    path : str or Path, optional
        Schema file; default :data:`SIGNATURE_SCHEMA`.

    Returns
    -------
    dict
        The parsed schema.
    """
    schema_path = Path(path) if path is not None else SIGNATURE_SCHEMA
    if not schema_path.is_file():
        msg = (
            f"{schema_path}: signature schema not found; restore "
            "workflow/schemas/signature.schema.yaml from the repository."
        )
        raise FileNotFoundError(msg)
    with schema_path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _format_schema_error(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "<top level>"
    return f"at '{where}': {error.message}"


def load_gene_set(
    path: str | Path,
    *,
    symbols: frozenset[str] | None = None,
    schema: str | Path | None = None,
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

    Returns
    -------
    GeneSet
        The validated set.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not valid YAML, does not match the schema, its ``name``
        differs from the file stem, a gene is listed twice, or (with ``symbols``)
        a gene is not in the gene table. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: gene-set file not found; check the path or the library directory."
        raise FileNotFoundError(msg)
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        msg = f"{path}: not valid YAML ({exc}); fix the syntax of the set file."
        raise ValueError(msg) from exc
    if not isinstance(data, dict):
        msg = (
            f"{path}: expected a YAML mapping with keys name, title, genes, direction, "
            f"compartments, mechanism, card, provenance; got {type(data).__name__}."
        )
        raise ValueError(msg)

    genes = data.get("genes")
    if isinstance(genes, list) and all(isinstance(g, str) for g in genes):
        seen: set[str] = set()
        dups: set[str] = set()
        for gene in genes:
            (dups if gene in seen else seen).add(gene)
        if dups:
            listed = ", ".join(sorted(dups))
            msg = f"{path}: gene(s) listed more than once: {listed}; keep one copy."
            raise ValueError(msg)

    schema_path = str(Path(schema).resolve()) if schema is not None else str(SIGNATURE_SCHEMA)
    validator = _schema_validator(schema_path)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        details = "; ".join(_format_schema_error(e) for e in errors)
        msg = (
            f"{path}: does not match the signature schema ({details}); "
            f"see {SIGNATURE_SCHEMA.name} and resources/signatures/README.md."
        )
        raise ValueError(msg)

    if data["name"] != path.stem:
        msg = (
            f"{path}: name '{data['name']}' differs from the file stem '{path.stem}'; "
            "rename the file or the set so they match."
        )
        raise ValueError(msg)

    if symbols is not None:
        unknown = [g for g in data["genes"] if g not in symbols]
        if unknown:
            msg = (
                f"{path}: gene(s) not in the gene table: {', '.join(unknown)}; use the "
                "gene_name spelling of resources/genes/grch38_genes.tsv or drop them "
                "and record the drop in notes."
            )
            raise ValueError(msg)

    return GeneSet(
        name=data["name"],
        title=data["title"],
        genes=tuple(data["genes"]),
        direction=data["direction"],
        compartments=tuple(data["compartments"]),
        mechanism=data["mechanism"],
        card=data["card"],
        provenance=_plain(data["provenance"]),
        notes=data.get("notes", ""),
    )


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
    ValueError
        If it holds no set file, a file is invalid, or two files share a name.
    """
    if directory is not None and not isinstance(directory, (str, Path)):
        files = sorted(Path(f) for f in directory)
        directory = Path(files[0]).parent if files else Path(".")
    else:
        directory = Path(directory) if directory is not None else paths.SIGNATURES_DIR
        if not directory.is_dir():
            msg = f"{directory}: signature directory not found; pass an existing directory."
            raise FileNotFoundError(msg)
        files = sorted(directory.glob("*.yaml"))
    if not files:
        msg = f"{directory}: no *.yaml gene-set files; add at least one set file."
        raise ValueError(msg)
    sets: dict[str, GeneSet] = {}
    origin: dict[str, Path] = {}
    for file in files:
        gene_set = load_gene_set(file, symbols=symbols)
        if gene_set.name in sets:
            msg = (
                f"{file}: duplicate set name '{gene_set.name}' (also in "
                f"{origin[gene_set.name]}); give each set a unique name."
            )
            raise ValueError(msg)
        sets[gene_set.name] = gene_set
        origin[gene_set.name] = file
    return [sets[name] for name in sorted(sets)]


def _clean_field(text: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", text).strip()


def write_gmt(sets: Iterable[GeneSet], path: str | Path) -> None:
    """Write gene sets as a GMT file.

    Each line is ``name <TAB> title | direction | seed <TAB> gene ...``.

    Parameters
    ----------
    sets : iterable of GeneSet
        Sets to write (in the given order).
    path : str or Path
        Output file; parent directories are created.

    Raises
    ------
    ValueError
        If two sets share a name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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
                _clean_field(str(gene_set.provenance.get("seed", ""))),
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
    ValueError
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
                raise ValueError(msg)
            name = fields[0].strip()
            if name in out:
                msg = f"{path}: line {lineno} repeats set name '{name}'; keep one line per set."
                raise ValueError(msg)
            out[name] = [g.strip() for g in fields[2:] if g.strip()]
    return out


@lru_cache(maxsize=4)
def _read_symbols(path: str) -> frozenset[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if reader.fieldnames is None or "gene_name" not in reader.fieldnames:
            msg = (
                f"{path}: no 'gene_name' column (columns: {reader.fieldnames}); "
                "pass the tab-separated gene table resources/genes/grch38_genes.tsv."
            )
            raise ValueError(msg)
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
    ValueError
        If it has no ``gene_name`` column.
    """
    path = Path(path) if path is not None else paths.GENE_TABLE
    if not path.is_file():
        msg = f"{path}: gene table not found; restore resources/genes/grch38_genes.tsv."
        raise FileNotFoundError(msg)
    return _read_symbols(str(path.resolve()))


def library_table(sets: Iterable[GeneSet]) -> pd.DataFrame:
    """Summarise gene sets, one row per set.

    Parameters
    ----------
    sets : iterable of GeneSet
        Sets to summarise (row order kept).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, title, n_genes, direction, compartments, card, seed,
        section, citation, source, licence, genes``; list fields comma-joined,
        missing provenance fields as empty strings.
    """
    rows = []
    for s in sets:
        prov = s.provenance
        rows.append(
            {
                "name": s.name,
                "title": s.title,
                "n_genes": len(s.genes),
                "direction": s.direction,
                "compartments": ",".join(s.compartments),
                "card": bool(s.card),
                "seed": prov.get("seed", ""),
                "section": prov.get("section", ""),
                "citation": prov.get("citation", ""),
                "source": prov.get("source", ""),
                "licence": prov.get("licence", ""),
                "genes": ",".join(s.genes),
            }
        )
    return pd.DataFrame(rows, columns=list(_LIBRARY_TABLE_COLUMNS))
