"""Why a compartment × set row of ``flags.tsv`` is not a flag, stated with the numbers.

The rule is :func:`tmesig.flag.calibrate_flags`': a row is flagged when the set is
pre-specified for the compartment (``applies``), ``fdr`` ≤ ``alpha``,
``resistance_effect`` ≥ ``min_effect`` and ``null_z`` > 0 (a missing value fails its
condition). :func:`not_flagged_reason` names every condition a row fails.
"""

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._options import FindingsOptions

__all__ = ["not_flagged_reason", "strongest_candidates"]


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x)


def not_flagged_reason(row: Mapping[str, Any], *, options: FindingsOptions) -> str:
    """Every condition of the flag rule that a ``flags.tsv`` row fails ("" when flagged).

    Parameters
    ----------
    row
        One row of ``flags.tsv`` (``applies``, ``n_samples``, ``p``, ``fdr``,
        ``resistance_effect``, ``null_z``, ``note``).
    options
        The thresholds (``alpha``, ``min_effect``, ``min_samples``).

    Returns
    -------
    str
        The failed conditions joined by ``"; "``, in the rule's order.
    """
    o = options
    why = []
    if not bool(row.get("applies", False)):
        why.append("exploratory: the set is not pre-specified for this compartment")
    if _missing(row.get("p")):
        n = row.get("n_samples")
        note = row.get("note")
        if not _missing(n) and int(n) < o.min_samples:
            why.append(f"no test: {int(n)} sample(s), fewer than min_samples {o.min_samples}")
        else:
            why.append(f"no test: {note}" if isinstance(note, str) and note else "no test")
    elif _missing(row.get("fdr")) or float(row["fdr"]) > o.alpha:
        why.append(f"FDR {float(row['fdr']):.2g} above alpha {o.alpha:g}")
    eff = row.get("resistance_effect")
    if _missing(eff):
        why.append("no effect estimate")
    elif float(eff) < o.min_effect:
        why.append(f"effect {float(eff):+.2f} SD below min_effect {o.min_effect:g}")
    z = row.get("null_z")
    if _missing(z) or float(z) <= 0:
        shown = "missing" if _missing(z) else f"{float(z):+.2f}"
        why.append(f"not above expression-matched random sets (null_z {shown} <= 0)")
    return "; ".join(why)


def strongest_candidates(flags: pd.DataFrame, *, options: FindingsOptions) -> pd.DataFrame:
    """The unflagged rows closest to a flag, each with the reason it is not one.

    Pre-specified (``primary``) rows come first, then by ``p`` (untested rows last), then
    by the larger effect towards resistance; ``options.n_candidates`` rows are kept.

    Parameters
    ----------
    flags
        ``flags.tsv``.
    options
        Thresholds and ``n_candidates``.

    Returns
    -------
    DataFrame
        The chosen rows of ``flags`` with a ``reason`` column.
    """
    rest = flags[~flags["flagged"].astype(bool)].copy()
    rest["_exploratory"] = rest["family"] != "primary"
    rest["_untested"] = rest["p"].isna()
    rest["_neg_effect"] = -rest["resistance_effect"].fillna(-math.inf)
    rest = rest.sort_values(
        ["_exploratory", "_untested", "p", "_neg_effect", "compartment", "set"], kind="stable"
    ).head(options.n_candidates)
    rest["reason"] = [not_flagged_reason(r, options=options) for r in rest.to_dict("records")]
    return rest.drop(columns=["_exploratory", "_untested", "_neg_effect"])
