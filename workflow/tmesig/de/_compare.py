"""Gene-level condition comparison of every compartment's pseudobulks (one table)."""

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..conditions import Contrast
from ..constants import COL_COMPARTMENT, COL_LEVEL, COL_PARENT, COL_PATIENT, LEVELS
from ._options import DeOptions
from ._tests import RESULT_COLUMNS, deseq_genes, lognormal_genes
from ._units import INSUFFICIENT, PAIRED, UnitChoice, choose_units

__all__ = ["DE_COLUMNS", "compare_genes"]

#: Columns of ``de_conditions.tsv``.
DE_COLUMNS: tuple[str, ...] = (
    COL_LEVEL,
    COL_COMPARTMENT,
    COL_PARENT,
    "gene",
    "reference",
    "test",
    "method",
    "design",
    "n_ref",
    "n_test",
    "n_pairs",
    "n_genes_tested",
    *RESULT_COLUMNS,
    "note",
)
_DESEQ, _TTEST = "pydeseq2", "t-test on patient mean log values"


def _genes(values: np.ndarray, *, counts: bool, k: int, opts: DeOptions) -> np.ndarray:
    """Indices of the genes tested: expressed in ``k`` units, at most ``max_genes`` by mean."""
    if counts:
        expressed = (values >= opts.min_count).sum(axis=0) >= k
        size = values.sum(axis=1, keepdims=True)
        level = (values / np.maximum(size, 1)).mean(axis=0)
    else:
        expressed = (values > 0).sum(axis=0) >= k
        level = values.mean(axis=0)
    idx = np.flatnonzero(expressed)
    if len(idx) > opts.max_genes:  # the most expressed: blind to the conditions
        idx = idx[np.argsort(-level[idx], kind="stable")[: opts.max_genes]]
    return np.sort(idx)


def _test(
    values: np.ndarray, genes: pd.Index, choice: UnitChoice, *, counts: bool, opts: DeOptions
) -> tuple[pd.DataFrame, str]:
    """Per-gene results of one compartment and the design used ('' rows when none)."""
    paired = choice.design == PAIRED
    k = choice.n_pairs if paired else min(choice.n_ref, choice.n_test)
    idx = _genes(values, counts=counts, k=k, opts=opts)
    frame = pd.DataFrame(values[:, idx], columns=genes[idx])
    units = choice.units.reset_index(drop=True)
    if len(idx) < 2:
        return pd.DataFrame(columns=list(RESULT_COLUMNS)), "no gene passed the expression filter"
    if counts:
        res = deseq_genes(frame, units, paired=paired, alpha=opts.alpha, n_cpus=opts.threads)
    else:
        res = lognormal_genes(frame, units, paired=paired)
    return res, ""


def _cached(
    values: np.ndarray,
    genes: pd.Index,
    choice: UnitChoice,
    counts: bool,
    opts: DeOptions,
    done: dict,
) -> tuple[pd.DataFrame, str]:
    """:func:`_test`, reused when a compartment has the very pseudobulks of one tested before
    (a state that holds all of its lineage's cells): the same input gives the same table."""
    units = choice.units
    key = (
        choice.design,
        values.shape,
        hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest(),
        tuple(units[COL_PATIENT].astype(str)),
        tuple(units["is_test"].astype(bool)),
    )
    if key not in done:
        done[key] = _test(values, genes, choice, counts=counts, opts=opts)
    res, why = done[key]
    return res.copy(), why


def _design(choice: UnitChoice, counts: bool) -> str:
    if choice.design == INSUFFICIENT:
        return INSUFFICIENT
    if counts:
        return "~patient + condition" if choice.design == PAIRED else "~condition"
    return "paired t-test" if choice.design == PAIRED else "Welch t-test"


def compare_genes(
    meta: pd.DataFrame,
    values: np.ndarray,
    genes: pd.Index,
    *,
    contrast: Contrast,
    counts: bool,
    parents: Mapping[str, str] | None = None,
    options: DeOptions | None = None,
    method_note: str = "",
) -> pd.DataFrame:
    """Compare two conditions gene by gene in every compartment, patients as the unit.

    Parameters
    ----------
    meta : pandas.DataFrame
        One row per pseudobulk (:func:`tmesig.de.pseudobulk`): ``level``, ``compartment``,
        ``patient``, ``condition``, ``n_cells``.
    values : numpy.ndarray
        Pseudobulks × genes: summed counts (``counts``) or mean log values.
    genes : pandas.Index
        Gene names of ``values``' columns.
    contrast : Contrast
        The two conditions (:func:`tmesig.conditions.resolve_contrast`).
    counts : bool
        True: pydeseq2 on counts; False: t-tests on mean log values.
    parents : Mapping of str to str, optional
        State → its lineage (the ``parent`` column at level ``state``).
    options : DeOptions, optional
        Thresholds (default :class:`DeOptions` ()).
    method_note : str
        Appended to every row's note (e.g. why the t-test replaces pydeseq2).

    Returns
    -------
    pandas.DataFrame
        :data:`DE_COLUMNS`: one row per compartment × tested gene, or one row with an empty
        ``gene`` for a compartment that was not tested (``note`` says why); sorted by level,
        compartment, FDR, p and gene.
    """
    opts = DeOptions() if options is None else options
    parents = dict(parents or {})
    frames, done = [], {}
    for (level, comp), sub in meta.groupby([COL_LEVEL, COL_COMPARTMENT], sort=True):
        choice = choose_units(
            sub,
            reference=contrast.reference,
            test=contrast.test,
            min_cells=opts.min_cells,
            min_patients=opts.min_patients,
        )
        res, why = pd.DataFrame(columns=list(RESULT_COLUMNS)), ""
        if choice.design != INSUFFICIENT:
            res, why = _cached(values[choice.units.index], genes, choice, counts, opts, done)
        res = res.rename_axis("gene").reset_index() if len(res) else pd.DataFrame({"gene": [""]})
        note = "; ".join(x for x in (choice.note, why, method_note, contrast.note) if x)
        parent = comp if level == LEVELS[0] else parents.get(comp, "")
        frames.append(
            res.assign(
                level=level,
                compartment=comp,
                parent=parent,
                reference=contrast.reference,
                test=contrast.test,
                method=_DESEQ if counts else _TTEST,
                design=_design(choice, counts),
                n_ref=choice.n_ref,
                n_test=choice.n_test,
                n_pairs=choice.n_pairs,
                n_genes_tested=int((res["gene"] != "").sum()),
                note=note,
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(DE_COLUMNS))
    out = pd.concat(frames, ignore_index=True).reindex(columns=list(DE_COLUMNS))
    out["_lv"] = out[COL_LEVEL].map({lv: i for i, lv in enumerate(LEVELS)})
    keys = ["_lv", COL_COMPARTMENT, "fdr", "p", "gene"]
    out = out.sort_values(keys, kind="stable", na_position="last")
    return out.drop(columns="_lv").reset_index(drop=True)
