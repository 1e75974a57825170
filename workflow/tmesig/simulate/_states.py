"""Refined cell states of a simulated cell type, with a per-condition mix (a state shift).

A :class:`StateShift` splits the cells of one simulated type (``CD8_T``) into two refined
types (:data:`STATE_TYPES`: ``CD8_effector_memory`` and ``CD8_exhausted``, named and
profiled after the subsets of ``resources/markers/subsets.yaml``). Each sample's share of
the second state is drawn from a Beta distribution around the mean share of its
response group, so that patients vary around a planted difference between responders
and non-responders. Programs planted in the split type (``CD8_T``) still apply to both
states.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._cell_types import CELL_TYPES, CellType

__all__ = [
    "CD8_EXHAUSTED_SHIFT",
    "CD8_NULL_SHIFT",
    "STATE_TYPES",
    "StateShift",
    "apply_shifts",
]

#: Refined types a :class:`StateShift` can split a simulated type into (``base``: the type).
STATE_TYPES: tuple[CellType, ...] = (
    CellType(
        "CD8_effector_memory",
        "T_NK",
        ("CD8A", "CD8B", "CCL5", "GZMK"),
        0.0,
        ("CD8_T", "CD8_effector_memory"),
        base="CD8_T",
    ),
    CellType(
        "CD8_exhausted",
        "T_NK",
        ("CD8A", "CD8B", "CCL5"),
        0.0,
        ("CD8_T", "CD8_exhausted"),
        base="CD8_T",
    ),
)


@dataclass(frozen=True)
class StateShift:
    """Split a simulated cell type into two refined states, the mix depending on response.

    Pass it among :func:`tmesig.simulate.design`'s ``programs``.

    Parameters
    ----------
    name : str
        Identifier (``uns["simulation"]["state_shifts"]``).
    cell_type : str
        The simulated type split (a name of :data:`CELL_TYPES`, e.g. ``CD8_T``).
    states : tuple of str
        Two names of :data:`STATE_TYPES` whose ``base`` is ``cell_type``; the share is of
        the second.
    share : mapping of str to float
        Response (``R``, ``NR``) -> mean share of the second state among the type's cells.
    concentration : float
        Beta concentration of each sample's share (larger: patients closer to the mean).
    """

    name: str
    cell_type: str
    states: tuple[str, str]
    share: Mapping[str, float] = field(default_factory=dict)
    concentration: float = 30.0


#: Planted truth for the proofs of issue 11: CD8 T cells shift towards the exhausted state
#: in non-responders (exhausted share of CD8 0.2 in responders, 0.45 in non-responders;
#: cf. Sade-Feldman et al. 2018, Cell 175:998).
CD8_EXHAUSTED_SHIFT = StateShift(
    "cd8_exhausted_shift_nr",
    "CD8_T",
    ("CD8_effector_memory", "CD8_exhausted"),
    {"R": 0.2, "NR": 0.45},
)
#: The same split without a difference between responders and non-responders (null mode).
CD8_NULL_SHIFT = StateShift(
    "cd8_states_null",
    "CD8_T",
    ("CD8_effector_memory", "CD8_exhausted"),
    {"R": 0.3, "NR": 0.3},
)


def check_shift(shift: StateShift) -> None:
    """Refuse a shift of an unknown type, into unknown states or with shares outside (0, 1)."""
    base = [ct.name for ct in CELL_TYPES]
    ok = {ct.name: ct.base for ct in STATE_TYPES}
    bad = [s for s in shift.states if ok.get(s) != shift.cell_type]
    if shift.cell_type not in base or len(shift.states) != 2 or bad:
        msg = (
            f"state shift '{shift.name}': cannot split '{shift.cell_type}' into "
            f"{list(shift.states)}; use two of {sorted(ok)} and the type they refine "
            f"({sorted(set(ok.values()))})."
        )
        raise ValueError(msg)
    if not all(0 < v < 1 for v in shift.share.values()) or shift.concentration <= 0:
        msg = f"state shift '{shift.name}': shares must be in (0, 1) and concentration > 0."
        raise ValueError(msg)


def apply_shifts(
    obs: pd.DataFrame, ctype: np.ndarray, shifts: Sequence[StateShift], *, seed: int
) -> np.ndarray:
    """The cell-type index of every cell after the shifts (indices past :data:`CELL_TYPES`
    are :data:`STATE_TYPES`).

    Parameters
    ----------
    obs
        The cells (``sample`` and ``response`` columns).
    ctype
        Each cell's index in :data:`CELL_TYPES`.
    shifts
        The shifts to apply (own random stream: the other draws of the design are unchanged).
    seed
        The design's seed.

    Returns
    -------
    ndarray
        Cell-type indices into ``CELL_TYPES + STATE_TYPES``.
    """
    rng = np.random.default_rng([seed, 2])
    names = [ct.name for ct in (*CELL_TYPES, *STATE_TYPES)]
    out = ctype.astype(np.int64).copy()
    samples = obs["sample"].astype(str).to_numpy()
    response = obs["response"].astype(str).to_numpy()
    u = rng.random(len(obs))
    for shift in shifts:
        cells = ctype == names.index(shift.cell_type)
        first, second = (names.index(s) for s in shift.states)
        for sample in sorted(set(samples[cells])):
            here = cells & (samples == sample)
            mean = shift.share.get(str(response[here][0]), 0.0)
            c = shift.concentration
            p = rng.beta(mean * c, (1 - mean) * c) if 0 < mean < 1 else mean
            out[here] = np.where(u[here] < p, second, first)
    return out
