"""One gene set of the signature library (the in-memory form of one set file)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GeneSet"]


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
        ``"up"`` (high score = resistance) or ``"down"`` (low score = resistance); one of
        :data:`tmesig.constants.DIRECTIONS`.
    compartments : tuple of str
        Where the set is pre-specified: names of :data:`tmesig.constants.SET_COMPARTMENTS`
        or cell states of the subsets markers file (see :func:`tmesig.signatures.primary_in`).
    mechanism : str
        One line describing the mechanism.
    card : bool
        True for the nine design-card items.
    provenance : dict
        ``seed`` (id of a seed review, see :func:`load_seeds`) and ``section`` always;
        ``citation``, ``source``, ``licence``, ``resource``, ``source_set`` (and optionally
        ``renamed``, ``dropped``, ``positive_weight_only``) for published sets.
    notes : str, optional
        Free text (dropped/renamed symbols, direction rationale).
    category : str, optional
        Mechanism class, one of :data:`tmesig.constants.SET_CATEGORIES` (required in set
        files; empty for sets built in code).
    direction_note : str, optional
        Where the direction differs by cancer type or is debated: the evidence, cited.
    gene_level : bool, optional
        True for sets too small to be scored as a set (shown gene by gene).
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
    category: str = ""
    direction_note: str = ""
    gene_level: bool = False

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
            Keys in file order; ``direction_note``, ``gene_level`` and ``notes`` only when
            set. Writing it with
            ``yaml.safe_dump`` gives a valid set file.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "genes": list(self.genes),
            "direction": self.direction,
            "compartments": list(self.compartments),
            "mechanism": self.mechanism,
            "category": self.category,
            "card": self.card,
            "provenance": plain(self.provenance),
        }
        if self.direction_note:
            out["direction_note"] = self.direction_note
        if self.gene_level:
            out["gene_level"] = True
        if self.notes:
            out["notes"] = self.notes
        return out


def plain(value: Any) -> Any:
    """Deep-copy nested mappings/sequences into plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
