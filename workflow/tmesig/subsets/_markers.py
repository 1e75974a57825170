"""The subset marker file (``resources/markers/subsets.yaml``): subsets, their tree, axes."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tmesig import paths
from tmesig.constants import LINEAGES, MALIGNANT, UNASSIGNED
from tmesig.io.errors import InputError
from tmesig.marker_files import check_lineage, gene_list, read_marker_yaml

__all__ = ["DEFAULT_SUBSET_MARKERS", "Axis", "Subset", "SubsetMarkers", "load_subset_markers"]

#: Default subset marker file.
DEFAULT_SUBSET_MARKERS = paths.MARKERS_DIR / "subsets.yaml"


@dataclass(frozen=True)
class Subset:
    """One subset: name, lineage, positive / negative genes, optional parent, source.

    Attributes
    ----------
    name, lineage
        The subset and the lineage (:data:`tmesig.constants.LINEAGES`) it refines.
    genes, negative
        Genes the subset expresses / should not express.
    parent
        The root subset this one refines (``None`` for a root).
    source
        Where the genes come from.
    identity
        Optional, roots only: the few lineage-defining genes used for the per-cell call
        between roots that have them (e.g. CD8A/CD8B vs CD4/CD40LG), see "Identity genes
        and propagation" in :mod:`tmesig.subsets`.
    """

    name: str
    lineage: str
    genes: tuple[str, ...]
    negative: tuple[str, ...] = ()
    parent: str | None = None
    source: str = ""
    identity: tuple[str, ...] = ()


@dataclass(frozen=True)
class Axis:
    """A continuous axis ``score(positive) - score(negative)`` for the cells of a subset.

    Attributes
    ----------
    name
        Axis name (column ``axis_<name>``).
    lineage, subset
        The subset whose cells carry the axis, and its lineage.
    positive, negative
        Genes of the two poles.
    source
        Where the genes come from.
    """

    name: str
    lineage: str
    subset: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class SubsetMarkers:
    """Parsed ``subsets.yaml``: subsets (file order) and axes.

    Attributes
    ----------
    subsets
        Every :class:`Subset`, in file order.
    axes
        Every :class:`Axis`.
    """

    subsets: tuple[Subset, ...]
    axes: tuple[Axis, ...] = ()

    def of_lineage(self, lineage: str) -> list[Subset]:
        """Subsets of one lineage, in file order."""
        return [s for s in self.subsets if s.lineage == lineage]

    def children(self, name: str) -> list[Subset]:
        """Subsets whose parent is ``name``."""
        return [s for s in self.subsets if s.parent == name]

    def ancestors(self, name: str) -> list[str]:
        """``[name, parent, ...]`` up to the root."""
        by = {s.name: s for s in self.subsets}
        out = [name]
        while name in by and by[name].parent is not None:
            name = by[name].parent
            out.append(name)
        return out

    @property
    def names(self) -> list[str]:
        """All subset names in file order."""
        return [s.name for s in self.subsets]


def load_subset_markers(path: str | Path | None = None) -> SubsetMarkers:
    """Load and validate subset markers (``resources/markers/subsets.yaml`` by default).

    Parameters
    ----------
    path
        YAML file with ``lineages:`` (lineage -> subset -> ``{genes, negative?, parent?,
        identity?, source}``) and optional ``axes:`` (name -> ``{lineage, subset, positive,
        negative, source}``).

    Returns
    -------
    SubsetMarkers

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        Malformed file, unknown lineage, duplicate subset name, subset named like a
        lineage, parent missing / in another lineage / itself a child, empty gene list,
        missing ``source``, or an axis naming an unknown subset. The message names the file.
    """
    path = Path(DEFAULT_SUBSET_MARKERS if path is None else path)
    data = read_marker_yaml(
        path,
        label="Subset marker file",
        section="lineages",
        add_hint="mapping lineage -> subset -> {genes, source}.",
        missing_hint="pass an existing YAML file.",
    )
    subsets: list[Subset] = []
    for lineage, entries in data["lineages"].items():
        check_lineage(lineage, where=f"Subset marker file {path}", noun="lineage")
        if not isinstance(entries, Mapping) or not entries:
            msg = f"Subset marker file {path}: lineage {lineage!r} needs a mapping of subsets."
            raise InputError(msg)
        for name, entry in entries.items():
            subsets.append(_parse_subset(path, lineage, name, entry, subsets))
    _check_tree(path, subsets)
    by = {s.name: s for s in subsets}
    axes = [_parse_axis(path, name, entry, by) for name, entry in (data.get("axes") or {}).items()]
    return SubsetMarkers(subsets=tuple(subsets), axes=tuple(axes))


def _parse_subset(
    path: Path, lineage: str, name: object, entry: object, seen: list[Subset]
) -> Subset:
    where = f"subset {name!r} ({lineage})"
    taken = {s.name for s in seen}
    if name in taken or name in LINEAGES or name in (UNASSIGNED, MALIGNANT):
        msg = (
            f"Subset marker file {path}: {where} is defined twice or reuses a "
            "lineage / reserved name; give it a unique name."
        )
        raise InputError(msg)
    if not isinstance(entry, Mapping):
        msg = f"Subset marker file {path}: {where} must be a mapping with 'genes:'."
        raise InputError(msg)
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        msg = f"Subset marker file {path}: {where} has no 'source:'; say where the genes come from."
        raise InputError(msg)

    def genes(key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        error = (
            f"Subset marker file {path}: {where} '{key}' needs a non-empty list of gene symbols."
        )
        return gene_list(entry.get(key), error=error, allow_empty=allow_empty)

    return Subset(
        name=str(name),
        lineage=lineage,
        genes=genes("genes"),
        negative=genes("negative", allow_empty=True),
        parent=entry.get("parent"),
        source=source.strip(),
        identity=genes("identity", allow_empty=True),
    )


def _check_tree(path: Path, subsets: list[Subset]) -> None:
    """Parents are top-level subsets of the same lineage; identity genes only on roots."""
    by = {s.name: s for s in subsets}
    for s in subsets:
        if s.parent is None:
            continue
        parent = by.get(s.parent)
        if parent is None or parent.lineage != s.lineage or parent.parent is not None:
            msg = (
                f"Subset marker file {path}: subset {s.name!r} has parent {s.parent!r}, which "
                "must be a top-level subset (no parent) of the same lineage."
            )
            raise InputError(msg)
        if s.identity:
            msg = (
                f"Subset marker file {path}: subset {s.name!r} has 'identity' genes but a "
                "parent; identity genes are for top-level subsets only."
            )
            raise InputError(msg)


def _parse_axis(path: Path, name: object, entry: object, by: Mapping[str, Subset]) -> Axis:
    if not isinstance(entry, Mapping) or entry.get("subset") not in by:
        msg = f"Subset marker file {path}: axis {name!r} must name a defined 'subset:'."
        raise InputError(msg)
    sub = by[entry["subset"]]

    def genes(key: str) -> tuple[str, ...]:
        error = (
            f"Subset marker file {path}: axis {name!r} '{key}' needs a non-empty list of "
            "gene symbols."
        )
        return gene_list(entry.get(key), error=error)

    return Axis(
        name=str(name),
        lineage=sub.lineage,
        subset=sub.name,
        positive=genes("positive"),
        negative=genes("negative"),
        source=str(entry.get("source", "")),
    )
