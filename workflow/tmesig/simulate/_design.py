"""The layout of a simulated cohort: patients, samples, cells, planted programs, depths."""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._cell_types import CELL_TYPES, CellType
from ._profiles import gene_universe, state_profiles, type_profiles
from ._programs import DEFAULT_PROGRAMS, Program
from ._sampling import Simulation
from ._states import STATE_TYPES, StateShift, apply_shifts, check_shift

__all__ = ["design"]

_N_LEVELS = 16


def design(
    n_cells: int = 5_000,
    *,
    n_genes: int = 20_000,
    n_patients: int = 8,
    programs: Sequence[Program | StateShift] | None = None,
    mean_depth: float = 4_000.0,
    depth_sd: float = 0.4,
    dispersion: float = 0.2,
    seed: int = 0,
) -> Simulation:
    """Lay out a simulated dataset (cells, genes, profiles) without generating counts.

    Parameters
    ----------
    n_cells
        Number of cells (1,000 to 1,000,000 and more; only ``obs`` is held per cell).
    n_genes
        Number of genes (at least the library, marker, subset-marker and identity genes,
        ~950).
    n_patients
        Patients (even number preferred): half responders (``R``), half non-responders
        (``NR``), each with a ``pre`` and a ``post`` sample.
    programs
        Programs to plant; default :data:`DEFAULT_PROGRAMS`; ``()`` for the null mode. A
        :class:`StateShift` among them splits a cell type into refined states
        (``CD8_effector_memory`` / ``CD8_exhausted``) with a per-response mix
        (e.g. :data:`CD8_EXHAUSTED_SHIFT`); the truth is then in ``obs["cell_type"]``.
    mean_depth
        Median library size (UMIs per cell).
    depth_sd
        Standard deviation of log library size.
    dispersion
        NB dispersion ``phi``.
    seed
        Seed: the whole dataset is a function of it.

    Returns
    -------
    Simulation
        Call :meth:`Simulation.chunks` / :func:`simulate` / :func:`write_h5ad_chunked`.
    """
    planted = tuple(DEFAULT_PROGRAMS if programs is None else programs)
    shifts = tuple(p for p in planted if isinstance(p, StateShift))
    programs = tuple(p for p in planted if not isinstance(p, StateShift))
    types = (*CELL_TYPES, *(STATE_TYPES if shifts else ()))
    _check(n_cells, n_patients, dispersion, programs, types)
    rng = np.random.default_rng(seed)
    var = gene_universe(n_genes, rng)
    gidx = {g: i for i, g in enumerate(var.index)}
    per_type = type_profiles(gidx, programs, rng, seed=seed, extra=types[len(CELL_TYPES) :])
    obs, ctype = _cells(n_cells, n_patients, rng)
    ctype = _shift(obs, ctype, shifts, types, seed=seed)
    active = _plant(obs, ctype, programs, rng, types)
    profiles, state = state_profiles(ctype, active, per_type, programs, gidx)
    # depth levels: equal-probability log-normal levels
    z = norm.ppf((np.arange(_N_LEVELS) + 0.5) / _N_LEVELS)
    depths = mean_depth * np.exp(depth_sd * z)
    level = rng.integers(0, _N_LEVELS, size=n_cells)
    obs["depth"] = depths[level].astype(np.float32)
    settings = {
        "seed": int(seed),
        "n_genes": int(n_genes),
        "n_patients": int(n_patients),
        "mean_depth": float(mean_depth),
        "depth_sd": float(depth_sd),
        "dispersion": float(dispersion),
    }
    return Simulation(
        obs=obs,
        var=var,
        uns={"simulation": _record(settings, programs, gidx, shifts)},
        profiles=profiles,
        state=state.astype(np.int64),
        level=level.astype(np.int64),
        depths=depths,
        dispersion=float(dispersion),
        seed=int(seed),
    )


def _check(
    n_cells: int,
    n_patients: int,
    dispersion: float,
    programs: Sequence[Program],
    types: Sequence[CellType],
) -> None:
    if n_cells < 1 or n_patients < 2:
        msg = f"need n_cells >= 1 and n_patients >= 2, got {n_cells} and {n_patients}."
        raise ValueError(msg)
    if dispersion <= 0:
        msg = f"dispersion must be > 0, got {dispersion}; 0.2 is typical of UMI data."
        raise ValueError(msg)
    type_names = [ct.name for ct in types]
    for prog in programs:
        unknown = [t for t in prog.cell_types if t not in type_names]
        if unknown:
            msg = f"program '{prog.name}': unknown cell type(s) {unknown}; use {type_names}."
            raise ValueError(msg)


def _cells(
    n_cells: int, n_patients: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """Truth columns of the cells (patients, samples, cell types) and each cell's type index."""
    type_names = [ct.name for ct in CELL_TYPES]
    patients = np.array([f"P{i + 1:02d}" for i in range(n_patients)])
    response = np.where(np.arange(n_patients) % 2 == 0, "R", "NR")
    samples = [(p, r, t) for p, r in zip(patients, response, strict=True) for t in ("pre", "post")]
    props = rng.dirichlet(np.array([ct.weight for ct in CELL_TYPES]) * 50.0, size=len(samples))
    sample_of = rng.integers(0, len(samples), size=n_cells)
    sample_of.sort()
    cum = np.cumsum(props, axis=1)
    u = rng.random(n_cells)
    ctype = np.minimum((u[:, None] > cum[sample_of]).sum(axis=1), len(CELL_TYPES) - 1)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical.from_codes(ctype, type_names),
            "compartment": pd.Categorical(np.array([ct.compartment for ct in CELL_TYPES])[ctype]),
            "patient": pd.Categorical(np.array([s[0] for s in samples])[sample_of]),
            "sample": pd.Categorical(np.array([f"{s[0]}_{s[2]}" for s in samples])[sample_of]),
            "response": pd.Categorical(np.array([s[1] for s in samples])[sample_of], ["R", "NR"]),
            "timepoint": pd.Categorical(
                np.array([s[2] for s in samples])[sample_of], ["pre", "post"]
            ),
        },
        index=pd.Index([f"cell{i:07d}" for i in range(n_cells)], name="cell"),
    )
    obs["condition"] = pd.Categorical(
        obs["response"].astype(str) + "_" + obs["timepoint"].astype(str)
    )
    return obs, ctype


def _shift(
    obs: pd.DataFrame,
    ctype: np.ndarray,
    shifts: Sequence[StateShift],
    types: Sequence[CellType],
    *,
    seed: int,
) -> np.ndarray:
    """Apply the state shifts: new cell-type indices, ``cell_type``/``compartment`` updated."""
    if not shifts:
        return ctype
    for shift in shifts:
        check_shift(shift)
    ctype = apply_shifts(obs, ctype, shifts, seed=seed)
    obs["cell_type"] = pd.Categorical.from_codes(ctype, [ct.name for ct in types])
    obs["compartment"] = pd.Categorical(np.array([ct.compartment for ct in types])[ctype])
    return ctype


def _plant(
    obs: pd.DataFrame,
    ctype: np.ndarray,
    programs: Sequence[Program],
    rng: np.random.Generator,
    types: Sequence[CellType],
) -> np.ndarray:
    """Draw the cells carrying each program; add ``planted_<name>`` and ``clone`` to ``obs``.

    A program planted in a type also applies to the refined states of that type."""
    type_names = [ct.name for ct in types]
    n_cells = len(obs)
    clone = np.where(ctype == type_names.index("malignant"), "main", "")
    active = np.zeros((n_cells, len(programs)), dtype=bool)
    for j, prog in enumerate(programs):
        targets = [k for k, ct in enumerate(types) if {ct.name, ct.base} & set(prog.cell_types)]
        ok = np.isin(ctype, targets)
        if prog.response is not None:
            ok &= obs["response"].to_numpy() == prog.response
        if prog.timepoint is not None:
            ok &= obs["timepoint"].to_numpy() == prog.timepoint
        active[:, j] = ok & (rng.random(n_cells) < prog.fraction)
        obs[f"planted_{prog.name}"] = active[:, j]
        if prog.clone is not None:
            clone[active[:, j]] = prog.clone
    obs["clone"] = pd.Categorical(clone)
    return active


def _record(
    settings: Mapping[str, object],
    programs: Sequence[Program],
    gidx: Mapping[str, int],
    shifts: Sequence[StateShift],
) -> dict:
    """``uns["simulation"]``: the settings, the cell types and the programs as planted (and
    the state shifts, when there are any)."""
    types = (*CELL_TYPES, *(STATE_TYPES if shifts else ()))
    out = {
        **settings,
        "null": len(programs) == 0 and all(len(set(x.share.values())) <= 1 for x in shifts),
        "cell_types": {ct.name: ct.compartment for ct in types},
        "programs": {
            p.name: {
                "genes": [g for g in p.genes if g in gidx],
                "cell_types": list(p.cell_types),
                "fold": float(p.fold),
                "response": p.response or "any",
                "timepoint": p.timepoint or "any",
                "fraction": float(p.fraction),
                "clone": p.clone or "",
            }
            for p in programs
        },
    }
    if shifts:
        out["state_shifts"] = {
            x.name: {
                "cell_type": x.cell_type,
                "states": list(x.states),
                "share": {k: float(v) for k, v in x.share.items()},
                "concentration": float(x.concentration),
            }
            for x in shifts
        }
    return out
