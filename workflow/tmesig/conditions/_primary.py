"""Which compartment × set tests are pre-specified (primary), at lineage and state level.

Local copy of the wave-3 contract's ``tmesig.signatures.primary_in`` (written by the library
work); the conditions package uses it until that lands, then imports it from there.
"""

from functools import cache

from ..constants import ANY, LEVEL_LINEAGE, LINEAGES, MALIGNANT, NORMAL_EPITHELIUM
from ..signatures import GeneSet

__all__ = ["primary_in"]


@cache
def _state_lineages() -> dict[str, str]:
    """State name -> its lineage: the subsets of ``subsets.yaml`` and the epithelial states."""
    from ..subsets import load_subset_markers

    out = {s.name: s.lineage for s in load_subset_markers().subsets}
    out.update({MALIGNANT: "epithelial", NORMAL_EPITHELIUM: "epithelial"})
    return out


def primary_in(gene_set: GeneSet, compartment: str, *, level: str, parent: str) -> bool:
    """Whether ``gene_set`` is a pre-specified (primary) hypothesis in ``compartment``.

    Lineage level: the set's ``compartments`` name the lineage. State level: they name the
    state, or name its lineage and no state of that lineage. ``any`` is primary everywhere.

    Parameters
    ----------
    gene_set
        The set (its ``compartments``).
    compartment
        The lineage or state tested.
    level
        ``lineage`` or ``state``.
    parent
        The lineage of ``compartment`` (the lineage itself at lineage level).

    Returns
    -------
    bool
    """
    named = set(gene_set.compartments)
    if ANY in named or compartment in named:
        return True
    if level == LEVEL_LINEAGE or parent not in named:
        return False
    lineage_of = _state_lineages()
    return not any(lineage_of.get(c) == parent for c in named if c not in LINEAGES)
