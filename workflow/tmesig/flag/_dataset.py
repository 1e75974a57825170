"""``flag_dataset``: the whole flag statistic of one dataset in one call."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from ..constants import (
    COL_COMPARTMENT,
    COL_LEVEL,
    COL_PARENT,
    COL_SAMPLE,
    COL_STATE,
    LEVEL_LINEAGE,
    LEVEL_STATE,
    UNASSIGNED,
)
from ..score import NullGroupMeans, ScoreOptions, null_group_means
from ..signatures import GeneSet, primary_in
from ._calibration import FLAG_COLUMNS, calibrate_flags, calibrate_levels, driver_genes
from ._samples import compartment_summary, flag_compartments
from ._sequential import log_resolution, needs_more

#: State-level label of cells with a lineage but no confident state: part of the "other
#: cells" of a sample, never tested itself.
_NO_STATE = "~no_state"

#: The keys of the config's ``flag`` section that are flag options (``unit`` names a column).
_CONFIG_KEYS = ("min_cells", "min_samples", "alpha", "min_effect", "n_null")
#: Keys taken from the ``flag`` section when it has them (else the defaults below).
_OPTIONAL_KEYS = ("n_null_max", "null_hits")


@dataclass(frozen=True)
class FlagOptions:
    """Options of :func:`flag_dataset`.

    Attributes
    ----------
    min_cells : int
        A sample contributes to a compartment only with at least this many cells in the
        compartment and in the other compartments (the t-test, the null calibration and
        the driver genes).
    min_samples : int
        Fewer contributing samples: the effect is reported, no p-value.
    alpha : float
        FDR level for ``flagged``.
    min_effect : float
        Minimum standardised effect, in the resistance direction, for ``flagged``.
    n_null : int
        Expression-matched random sets per set (:func:`tmesig.score.null_group_means`).
    n_null_max : int or None
        Most random sets of a test: tests with fewer than ``null_hits`` random sets at
        least as extreme among the first ``n_null`` draw more, from the per-group profile,
        until ``null_hits`` are or ``n_null_max`` are drawn (Besag–Clifford sequential
        p-value, smallest ``1 / (n_null_max + 1)``; :func:`null_calibration`). ``None``:
        ``n_null`` only.
    null_hits : int
        Besag–Clifford's ``h``.
    """

    min_cells: int = 10
    min_samples: int = 3
    alpha: float = 0.05
    min_effect: float = 0.5
    n_null: int = 100
    n_null_max: int | None = None
    null_hits: int = 10

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "FlagOptions":
        """Options from the config's ``flag`` section (all keys but ``unit``)."""
        optional = {k: section[k] for k in _OPTIONAL_KEYS if k in section}
        return cls(**{k: section[k] for k in _CONFIG_KEYS}, **optional)


def _state_labels(compartment: pd.Series, states: pd.DataFrame) -> pd.Series:
    """State of each cell; :data:`_NO_STATE` for assigned lineages without a state."""
    state = states[COL_STATE].reindex(compartment.index).fillna(UNASSIGNED).astype(str)
    no_state = (state == UNASSIGNED) & (compartment != UNASSIGNED)
    return state.where(~no_state, _NO_STATE)


def _level_nulls(nulls: NullGroupMeans, position: int) -> NullGroupMeans:
    """Null-pass means of (lineage, state, sample) groups pooled to (label, sample), with
    label the lineage (``position`` 0) or the state (1), weighted by cells."""
    idx = nulls.observed.index
    keys = [idx.get_level_values(position), idx.get_level_values(2)]
    n = nulls.n_cells.reindex(idx).to_numpy(dtype=float)
    total = pd.Series(n, index=idx).groupby(keys, sort=True).sum()

    def pool(df: pd.DataFrame | None) -> pd.DataFrame | None:
        if df is None:
            return None
        summed = df.reindex(idx).mul(n, axis=0).groupby(keys, sort=True).sum()
        return summed.div(total.reindex(summed.index).to_numpy(), axis=0)

    total.index.names = [COL_COMPARTMENT, COL_SAMPLE]
    profile = pool(nulls.profile)
    sampler = nulls.sampler
    if sampler is not None and profile is not None:
        # group means are linear in the cells: further null sets of the pooled groups are
        # scored from the pooled profile exactly as from the unpooled one
        sampler = replace(sampler, profile=profile.to_numpy(dtype=np.float64), labels=profile.index)
    return NullGroupMeans(
        observed=pool(nulls.observed),
        null=pool(nulls.null),
        n_cells=total.astype(np.int64),
        null_genes=nulls.null_genes,
        profile=profile,
        sampler=sampler,
    )


def _primary(flags: pd.DataFrame, sets: Sequence[GeneSet], level: str) -> pd.DataFrame:
    """``applies`` and ``family`` of each row by :func:`primary_in` at ``level``."""
    by_name = {gs.name: gs for gs in sets}
    applies = [
        primary_in(by_name[s], c, level=level, parent=p)
        for s, c, p in zip(flags["set"], flags[COL_COMPARTMENT], flags[COL_PARENT], strict=True)
    ]
    return flags.assign(
        applies=np.asarray(applies, dtype=bool),
        family=np.where(applies, "primary", "exploratory"),
    )


def _with_level(df: pd.DataFrame, level: str, parents: Mapping[str, str] | None) -> pd.DataFrame:
    """``level`` and ``parent`` columns after ``compartment`` (lineage rows: the lineage)."""
    out = df.copy()
    comp = out[COL_COMPARTMENT].astype(str)
    parent = comp if parents is None else comp.map(lambda c: parents.get(c, UNASSIGNED))
    at = list(out.columns).index(COL_COMPARTMENT)
    out.insert(at, COL_LEVEL, level)
    out.insert(at + 2, COL_PARENT, parent.to_numpy())
    return out


def _nothing_scored(
    scores: pd.DataFrame,
    labels: Mapping[str, pd.Series],
    unit: pd.Series,
    parents: Mapping[str, Mapping[str, str] | None],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compartment cell counts per level and an empty flag table with every column."""
    tables = []
    for level, lab in labels.items():
        table = compartment_summary(scores, compartment=lab, unit=unit)
        if level != LEVEL_LINEAGE:
            table = table[~table[COL_COMPARTMENT].isin([_NO_STATE, UNASSIGNED])]
        tables.append(_with_level(table, level, parents[level]))
    empty = _with_level(pd.DataFrame(columns=FLAG_COLUMNS), LEVEL_LINEAGE, None)
    return pd.concat(tables, ignore_index=True), empty


def _level_flags(
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    labels: pd.Series,
    unit: pd.Series,
    *,
    level: str,
    parents: Mapping[str, str] | None,
    options: FlagOptions,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudobulk table and sample-level tests of one level (``labels``: lineage or state
    of each cell)."""
    o = options
    table = compartment_summary(scores, compartment=labels, unit=unit)
    if level != LEVEL_LINEAGE:
        table = table[~table[COL_COMPARTMENT].isin([_NO_STATE, UNASSIGNED])]
    flags = flag_compartments(
        scores,
        sets,
        compartment=labels,
        unit=unit,
        min_cells=o.min_cells,
        min_samples=o.min_samples,
        alpha=o.alpha,
        min_effect=o.min_effect,
    )
    flags = _with_level(flags[flags[COL_COMPARTMENT] != _NO_STATE], level, parents)
    return _with_level(table, level, parents), flags


def _calibrated(
    flags: pd.DataFrame,
    calibration: pd.DataFrame,
    nulls: NullGroupMeans,
    sets: Sequence[GeneSet],
    *,
    level: str,
    parents: Mapping[str, str] | None,
    options: FlagOptions,
) -> pd.DataFrame:
    """Flags of one level with the null calibration, driver genes and families."""
    o = options
    # the group means of every gene come from the same pass over the matrix as the nulls
    drivers = driver_genes(nulls.profile, nulls.n_cells, sets, min_cells=o.min_cells)
    flags = calibrate_flags(
        _primary(flags, sets, level),
        calibration,
        drivers=drivers,
        alpha=o.alpha,
        min_effect=o.min_effect,
    )
    return _with_level(flags, level, parents)


def _all_levels(
    nulls: NullGroupMeans,
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    labels: Mapping[str, pd.Series],
    unit: pd.Series,
    *,
    parents: Mapping[str, Mapping[str, str] | None],
    options: FlagOptions,
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Pseudobulk tables and calibrated flags of every level (``nulls``: groups by every
    level's label and the sample); further null sets are drawn once for both levels."""
    o = options
    pooled = {
        level: _level_nulls(nulls, position) if len(labels) > 1 else nulls
        for position, level in enumerate(labels)
    }
    tables, tested = {}, {}
    for level, lab in labels.items():
        tables[level], tested[level] = _level_flags(
            scores, sets, lab, unit, level=level, parents=parents[level], options=o
        )
    calibration = calibrate_levels(
        pooled,
        sets,
        min_cells=o.min_cells,
        n_null_max=o.n_null_max,
        null_hits=o.null_hits,
        needed={lv: needs_more(f, hits=o.null_hits, n_null=o.n_null) for lv, f in tested.items()},
    )
    flagged = [
        _calibrated(
            tested[lv], calibration[lv], pooled[lv], sets, level=lv, parents=parents[lv], options=o
        )
        for lv in labels
    ]
    return list(tables.values()), flagged


def flag_dataset(
    adata: ad.AnnData,
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    compartment: pd.Series,
    unit: pd.Series,
    states: pd.DataFrame | None = None,
    options: FlagOptions | None = None,
    score_options: ScoreOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudobulk table and calibrated flags of every compartment × scored set, at the
    lineage level and (with ``states``) the cell-state level.

    Runs :func:`compartment_summary`, the sample-level test (:func:`flag_compartments`),
    the expression-matched null sets (:func:`tmesig.score.null_group_means`: one pass over
    the matrix for both levels, grouped by lineage × state × sample and pooled per level;
    it also gives every gene's group means), :func:`null_calibration`,
    :func:`driver_genes` and :func:`calibrate_flags`, level by level. A state is contrasted
    with every other cell of the same sample that has a lineage (states ``unassigned``
    included), like a lineage; ``unassigned`` is never tested as a state. BH families
    (``primary`` / ``exploratory``, by :func:`primary_in`) are adjusted within each level.

    Parameters
    ----------
    adata
        Log-normalised expression the cells were scored on (in memory or backed).
    scores
        Cells × scored sets (:func:`tmesig.score.score_cells`).
    sets
        The scored gene sets.
    compartment, unit
        Lineage and sample (or patient) of each cell, indexed by ``obs_names``.
    states
        Optional per-cell ``state`` and ``parent`` (``annotation.tsv``): adds the state
        rows.
    options
        :class:`FlagOptions`.
    score_options
        :class:`tmesig.score.ScoreOptions` the cells were scored with (its ``ctrl_size``,
        ``n_bins`` and ``seed`` draw the null sets).

    Returns
    -------
    compartments, flags
        :func:`compartment_summary` and :func:`calibrate_flags` tables, lineage rows first,
        each with ``level`` and ``parent`` after ``compartment``.
    """
    o = options if options is not None else FlagOptions()
    comp = compartment.reindex(adata.obs_names).astype(str)
    labels = {LEVEL_LINEAGE: comp}
    parents: dict[str, Mapping[str, str] | None] = {LEVEL_LINEAGE: None}
    if states is not None:
        labels[LEVEL_STATE] = _state_labels(comp, states)
        pairs = states[[COL_STATE, COL_PARENT]].astype(str).drop_duplicates()
        parents[LEVEL_STATE] = dict(zip(pairs[COL_STATE], pairs[COL_PARENT], strict=True))
    groups = pd.DataFrame(
        {f"{COL_COMPARTMENT}{i}": lab for i, lab in enumerate(labels.values())}
        | {COL_SAMPLE: unit.reindex(adata.obs_names)},
        index=adata.obs_names,
    )
    if not sets:  # nothing scored (coverage.tsv says why): cell counts, no test
        return _nothing_scored(scores, labels, unit, parents)
    nulls = null_group_means(adata, sets, groups=groups, n_null=o.n_null, options=score_options)
    tables, flagged = _all_levels(nulls, scores, sets, labels, unit, parents=parents, options=o)
    flags = pd.concat(flagged, ignore_index=True)
    log_resolution(flags, alpha=o.alpha, n_null=o.n_null, n_null_max=o.n_null_max)
    return pd.concat(tables, ignore_index=True), flags
