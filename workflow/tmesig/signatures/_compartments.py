"""Where a gene set is pre-specified (primary): lineages and cell states it names.

A set's ``compartments`` may name lineages (:data:`tmesig.constants.LINEAGES`), ``any``,
the two epithelial states ``malignant`` and ``normal_epithelium``, or cell states defined
by the subsets markers file (``resources/markers/subsets.yaml`` or a user's file), e.g.
``CD8_exhausted``, ``macrophage``, ``CAF``, ``Treg``.

Rule (:func:`primary_in`), for the two levels of every downstream table:

* level ``lineage``: primary in the lineages the set names;
* level ``state``: primary in a state the set names, or in every state of a lineage the
  set names when it names no state of that lineage (``[T_NK]`` is primary in every T/NK
  state; ``[T_NK, CD8_exhausted]`` only in ``CD8_exhausted`` at state level);
* ``any``: every compartment at both levels; ``unassigned`` is never primary.

The set loader cannot know the markers file, so state names are checked where both are
known (:func:`check_set_compartments`, called by the ``signatures`` stage).
"""

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from tmesig import paths
from tmesig.constants import (
    ANY,
    LEVEL_LINEAGE,
    LEVELS,
    LINEAGES,
    MALIGNANT,
    NORMAL_EPITHELIUM,
    SET_COMPARTMENTS,
    UNASSIGNED,
)
from tmesig.io.errors import InputError

from ._geneset import GeneSet

__all__ = ["EPITHELIAL_STATES", "check_set_compartments", "primary_in", "state_lineages"]

#: The epithelial states every run may produce (from copy number), with their lineage.
EPITHELIAL_STATES: Mapping[str, str] = MappingProxyType(
    {MALIGNANT: "epithelial", NORMAL_EPITHELIUM: "epithelial"}
)


def state_lineages(markers: str | Path | None = None) -> Mapping[str, str]:
    """Every cell state a run can produce -> its lineage (the state's ``parent``).

    Parameters
    ----------
    markers : str or Path, optional
        Subsets markers file (default ``resources/markers/subsets.yaml``); each subset's
        lineage is its parent. ``malignant`` and ``normal_epithelium`` (epithelial) are
        always included.

    Returns
    -------
    Mapping of str to str
        State name -> lineage (read-only).

    Raises
    ------
    InputError
        If the markers file is invalid (see :func:`tmesig.subsets.load_subset_markers`).
    """
    path = Path(markers) if markers is not None else paths.MARKERS_DIR / "subsets.yaml"
    return _state_lineages(str(path.resolve()))


@lru_cache(maxsize=8)
def _state_lineages(path: str) -> Mapping[str, str]:
    from tmesig.subsets import load_subset_markers  # heavy package, loaded on demand

    out = {s.name: s.lineage for s in load_subset_markers(path).subsets}
    out.update(EPITHELIAL_STATES)
    return MappingProxyType(out)


def primary_in(
    gene_set: GeneSet,
    compartment: str,
    *,
    level: str,
    parent: str,
    states: Mapping[str, str] | None = None,
) -> bool:
    """Whether a set is pre-specified (BH family ``primary``) in one compartment.

    Parameters
    ----------
    gene_set : GeneSet
        The set (its ``compartments``).
    compartment : str
        A lineage (level ``lineage``) or a cell state (level ``state``).
    level : str
        ``lineage`` or ``state`` (:data:`tmesig.constants.LEVELS`).
    parent : str
        The compartment's lineage (for a lineage row: the lineage itself).
    states : Mapping of str to str, optional
        State -> lineage of the run's markers file (:func:`state_lineages`); default the
        shipped subsets markers. Used to see whether the set names a state of ``parent``.

    Returns
    -------
    bool
        See the module docstring for the rule.

    Raises
    ------
    ValueError
        If ``level`` is not one of :data:`tmesig.constants.LEVELS`.
    """
    if level not in LEVELS:
        msg = f"level {level!r} is not one of {', '.join(LEVELS)}."
        raise ValueError(msg)
    named = set(gene_set.compartments)
    if compartment == UNASSIGNED:
        return False
    if ANY in named or compartment in named:
        return True
    if level == LEVEL_LINEAGE or parent not in named:
        return False
    lineage_of = states if states is not None else state_lineages()
    return not any(lineage_of.get(name) == parent for name in named)


def check_set_compartments(
    sets: Iterable[GeneSet],
    *,
    states: Mapping[str, str] | Iterable[str],
    files: Mapping[str, str | Path] | None = None,
    markers: str | Path | None = None,
) -> None:
    """Refuse a set whose ``compartments`` name neither a lineage nor a known cell state.

    Parameters
    ----------
    sets : iterable of GeneSet
        The library.
    states : Mapping of str to str, or iterable of str
        The run's cell states (:func:`state_lineages`, or just their names).
    files : Mapping of str to str or Path, optional
        Set name -> its file, for the message; default ``<signatures dir>/<name>.yaml``.
    markers : str or Path, optional
        The markers file the states come from, named in the message.

    Raises
    ------
    InputError
        Naming the set's file, the unknown name, the known names and the fix.
    """
    known_states = set(states)
    fixed = set(SET_COMPARTMENTS)
    for gene_set in sets:
        unknown = [c for c in gene_set.compartments if c not in fixed | known_states]
        if not unknown:
            continue
        file = (files or {}).get(gene_set.name, paths.SIGNATURES_DIR / f"{gene_set.name}.yaml")
        source = markers if markers is not None else "resources/markers/subsets.yaml"
        msg = (
            f"{file}: set '{gene_set.name}' names compartment(s) {', '.join(unknown)} that are "
            f"neither a lineage ({', '.join(LINEAGES)}), {MALIGNANT}, {NORMAL_EPITHELIUM}, "
            f"{ANY}, nor a cell state of the subsets markers file {source} (states: "
            f"{', '.join(sorted(known_states))}); fix the name in the set file or add the "
            "state to the markers file (subsets.markers in the config)."
        )
        raise InputError(msg)
