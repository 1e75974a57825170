"""``flag_dataset``: the whole flag statistic of one dataset in one call."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anndata as ad
import pandas as pd

from ..constants import COL_COMPARTMENT, COL_SAMPLE
from ..score import ScoreOptions, null_group_means
from ..signatures import GeneSet
from ._calibration import calibrate_flags, driver_genes, null_calibration
from ._samples import compartment_summary, flag_compartments
from ._sequential import log_resolution, needs_more

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


def flag_dataset(
    adata: ad.AnnData,
    scores: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    compartment: pd.Series,
    unit: pd.Series,
    options: FlagOptions | None = None,
    score_options: ScoreOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudobulk table and calibrated flags of every compartment × scored set.

    Runs :func:`compartment_summary`, the sample-level test (:func:`flag_compartments`),
    the expression-matched null sets (:func:`tmesig.score.null_group_means`, one pass over
    the matrix that also gives every gene's group means), :func:`null_calibration`,
    :func:`driver_genes` and :func:`calibrate_flags`.

    Parameters
    ----------
    adata
        Log-normalised expression the cells were scored on (in memory or backed).
    scores
        Cells × scored sets (:func:`tmesig.score.score_cells`).
    sets
        The scored gene sets.
    compartment, unit
        Compartment and sample (or patient) of each cell, indexed by ``obs_names``.
    options
        :class:`FlagOptions`.
    score_options
        :class:`tmesig.score.ScoreOptions` the cells were scored with (its ``ctrl_size``,
        ``n_bins`` and ``seed`` draw the null sets).

    Returns
    -------
    compartments, flags
        :func:`compartment_summary` and :func:`calibrate_flags` tables.
    """
    o = options if options is not None else FlagOptions()
    table = compartment_summary(scores, compartment=compartment, unit=unit)
    flags = flag_compartments(
        scores,
        sets,
        compartment=compartment,
        unit=unit,
        min_cells=o.min_cells,
        min_samples=o.min_samples,
        alpha=o.alpha,
        min_effect=o.min_effect,
    )
    groups = pd.DataFrame({COL_COMPARTMENT: compartment, COL_SAMPLE: unit}, index=adata.obs_names)
    nulls = null_group_means(adata, sets, groups=groups, n_null=o.n_null, options=score_options)
    calibration = null_calibration(
        nulls,
        sets,
        min_cells=o.min_cells,
        n_null_max=o.n_null_max,
        null_hits=o.null_hits,
        needed=needs_more(flags, hits=o.null_hits, n_null=o.n_null),
    )
    # the group means of every gene come from the same pass over the matrix as the nulls
    drivers = driver_genes(nulls.profile, nulls.n_cells, sets, min_cells=o.min_cells)
    flags = calibrate_flags(
        flags, calibration, drivers=drivers, alpha=o.alpha, min_effect=o.min_effect
    )
    log_resolution(flags, alpha=o.alpha, n_null=o.n_null, n_null_max=o.n_null_max)
    return table, flags
