"""Datasets side by side: one table of flags, condition effects and coverage, and its page."""

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["CROSS_COLUMNS", "flags_by_dataset"]

#: Columns of :func:`flags_by_dataset`, in order.
CROSS_COLUMNS = [
    "dataset",
    "compartment",
    "set",
    "direction",
    "family",
    "n_samples",
    "effect",
    "p",
    "fdr",
    "flagged",
    "coverage",
    "genes_found",
    "condition_contrast",
    "condition_effect",
    "condition_ci_low",
    "condition_ci_high",
    "condition_fdr",
    "note",
]
_FLAG_COLS = [
    "n_samples",
    "resistance_effect",
    "p",
    "fdr",
    "flagged",
    "direction",
    "family",
    "note",
]


def _conditions(cond: pd.DataFrame) -> pd.DataFrame:
    cols = ["compartment", "set", "condition_contrast", "condition_effect"]
    cols += ["condition_ci_low", "condition_ci_high", "condition_fdr"]
    if "compartment" not in cond.columns or cond.empty:
        return pd.DataFrame(columns=cols)
    out = cond[["compartment", "set"]].copy()
    out["condition_contrast"] = cond["test"].astype(str) + " vs " + cond["reference"].astype(str)
    out["condition_effect"] = cond["effect"]
    out["condition_ci_low"] = cond["ci_low"]
    out["condition_ci_high"] = cond["ci_high"]
    out["condition_fdr"] = cond["fdr"]
    return out[cols]


def _missing_note(row: pd.Series, cov: pd.DataFrame, comps: set[str]) -> str:
    if row["set"] not in cov.index:
        return "set not in this dataset's library"
    if not bool(cov.at[row["set"], "scored"]):
        reason = cov.at[row["set"], "reason"]
        return f"set not scored ({reason})" if isinstance(reason, str) and reason else "not scored"
    if row["compartment"] not in comps:
        return "compartment not found in this dataset"
    return "not tested"


def _one(name: str, flags: pd.DataFrame, cond: pd.DataFrame, cov: pd.DataFrame, pairs):
    cov = cov.set_index("set")
    f = flags.set_index(["compartment", "set"])[_FLAG_COLS].rename(
        columns={"resistance_effect": "effect"}
    )
    out = f.reindex(pairs).reset_index()
    out.insert(0, "dataset", name)
    missing = out["effect"].isna() & out["n_samples"].isna()
    comps = set(flags["compartment"].astype(str))
    out["note"] = out["note"].fillna("").astype(str)  # the flags' own note (e.g. no test)
    out.loc[missing, "note"] = [_missing_note(r, cov, comps) for _, r in out[missing].iterrows()]
    found = out["set"].map(cov["n_found"]) if len(cov) else np.nan
    total = out["set"].map(cov["n_genes"]) if len(cov) else np.nan
    out["coverage"] = (found / total).round(4)
    out["genes_found"] = [
        f"{int(a)}/{int(b)}" if pd.notna(a) and pd.notna(b) else ""
        for a, b in zip(found, total, strict=True)
    ]
    out["flagged"] = out["flagged"].eq(True)
    return out.merge(_conditions(cond), on=["compartment", "set"], how="left")


def flags_by_dataset(
    flags: Mapping[str, pd.DataFrame],
    *,
    conditions: Mapping[str, pd.DataFrame],
    coverage: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Every compartment × set of every dataset side by side (long format).

    The rows are the union of the datasets' compartment × set pairs, repeated for each
    dataset; a pair a dataset could not test has empty numbers and a ``note`` saying why
    (set not scored, compartment not found...); a tested pair keeps ``flags.tsv``'s note
    (e.g. too few samples for a test). ``effect`` is ``flags.tsv``'s
    ``resistance_effect`` (SD units, positive towards resistance); ``coverage`` the fraction
    of the set's genes found (``genes_found`` as ``found/genes``); the ``condition_*``
    columns come from ``conditions.tsv`` (``effect`` = test − reference in score units).

    Parameters
    ----------
    flags
        Dataset id -> its ``flags.tsv``, in the sheet's order.
    conditions
        Dataset id -> its ``conditions.tsv``.
    coverage
        Dataset id -> its ``coverage.tsv``.

    Returns
    -------
    DataFrame
        :data:`CROSS_COLUMNS`, sorted by set, compartment, then the datasets' order.
    """
    pairs = sorted(
        {
            (str(c), str(s))
            for f in flags.values()
            for c, s in zip(f["compartment"], f["set"], strict=True)
        }
    )
    index = pd.MultiIndex.from_tuples(pairs, names=["compartment", "set"])
    parts = [_one(name, flags[name], conditions[name], coverage[name], index) for name in flags]
    # columns empty in one dataset (no condition compared) take their type from the others
    parts = [p.dropna(axis=1, how="all") for p in parts]
    out = pd.concat(parts, ignore_index=True).reindex(columns=CROSS_COLUMNS)
    for col in ("direction", "family"):  # from the datasets that tested the pair
        out[col] = out.groupby(["compartment", "set"])[col].transform(
            lambda x: x.dropna().iloc[0] if x.notna().any() else ""
        )
    order = {name: i for i, name in enumerate(flags)}
    out = out.assign(_o=out["dataset"].map(order))
    out = out.sort_values(["set", "compartment", "_o"], kind="stable").drop(columns="_o")
    return out[CROSS_COLUMNS].reset_index(drop=True)
