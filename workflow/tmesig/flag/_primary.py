"""Which compartments a set is primary in, at the lineage and the state level.

A local copy of ``tmesig.signatures.primary_in`` (the shared contract of wave 3): the
library helper's function replaces it when it lands.
"""

from functools import cache

from ..constants import ANY, LEVEL_LINEAGE, LINEAGES, MALIGNANT, NORMAL_EPITHELIUM
from ..signatures import GeneSet

__all__ = ["primary_in"]


@cache
def _state_lineages() -> dict[str, str]:
    """Every state the shipped subset marker file names -> its lineage."""
    from ..subsets import load_subset_markers

    out = {s.name: s.lineage for s in load_subset_markers().subsets}
    out.update({MALIGNANT: "epithelial", NORMAL_EPITHELIUM: "epithelial"})
    return out


def primary_in(gene_set: GeneSet, compartment: str, *, level: str, parent: str) -> bool:
    """Whether ``compartment`` is a pre-specified (primary) hypothesis of ``gene_set``.

    Lineage level: the set's ``compartments`` name the lineage (or ``any``). State level:
    they name the state, or they name the state's lineage and no state of that lineage
    (``any``: every compartment at both levels).

    Parameters
    ----------
    gene_set
        The set (its ``compartments``).
    compartment
        The lineage (lineage level) or state (state level).
    level
        ``lineage`` or ``state`` (:data:`tmesig.constants.LEVELS`).
    parent
        The state's lineage (for a lineage: the lineage itself).
    """
    named = set(gene_set.compartments)
    if ANY in named:
        return True
    if level == LEVEL_LINEAGE or compartment in named:
        return compartment in named
    lineages = _state_lineages()
    states_of_parent = {c for c in named if c not in LINEAGES and lineages.get(c) == parent}
    return parent in named and not states_of_parent
