"""Per-gene tests of one compartment's pseudobulks: pydeseq2, or t-tests on log values.

Both take units × genes (one row per patient × condition, already chosen by
:func:`tmesig.de.choose_units`) and return one row per gene with ``base_mean``, ``effect``,
``effect_se``, ``stat``, ``p`` and ``fdr`` (BH within the compartment).

* :func:`deseq_genes`: pydeseq2 (Love et al. 2014, Muzellec et al. 2023) on summed counts,
  ``~condition`` or, paired, ``~patient + condition``; Wald test of ``test`` vs
  ``reference``; ``effect`` is the log2 fold change, ``fdr`` pydeseq2's ``padj`` (with its
  independent filtering and Cook's-distance outlier handling). Deterministic: the same
  numbers on any number of processes (:mod:`tmesig.de._inference`).
* :func:`lognormal_genes`: for input without counts (normalised, or a targeted panel): a
  paired t-test on the within-patient differences of the patient mean log values, or
  Welch's t-test on the two groups; ``effect`` is the difference of means in the data's log
  units. No counts are invented.
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = ["RESULT_COLUMNS", "deseq_genes", "lognormal_genes"]

#: Per-gene result columns of both tests.
RESULT_COLUMNS: tuple[str, ...] = ("base_mean", "effect", "effect_se", "stat", "p", "fdr")


def deseq_genes(
    counts: pd.DataFrame,
    units: pd.DataFrame,
    *,
    paired: bool,
    alpha: float = 0.05,
    n_cpus: int = 1,
) -> pd.DataFrame:
    """pydeseq2 on pseudobulk counts: ``test`` vs ``reference`` per gene.

    Parameters
    ----------
    counts : pandas.DataFrame
        Units × genes, summed counts (rounded to integers here).
    units : pandas.DataFrame
        Per unit (same index): ``patient`` and ``is_test`` (bool).
    paired : bool
        ``~patient + condition`` (every patient in both conditions) instead of ``~condition``.
    alpha : float
        pydeseq2's FDR target for independent filtering.
    n_cpus : int
        Processes the per-gene fits run on (the results do not depend on it).

    Returns
    -------
    pandas.DataFrame
        Indexed by gene: :data:`RESULT_COLUMNS` (``effect`` = log2 fold change,
        ``effect_se`` its standard error, ``stat`` the Wald statistic).
    """
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.ds import DeseqStats

    from ._inference import FastInference

    # recoded labels: nothing from the data enters the formula or the contrast
    ids = [f"u{i}" for i in range(len(units))]
    patients = pd.factorize(units["patient"], sort=True)[0]
    meta = pd.DataFrame(
        {
            "condition": np.where(units["is_test"].to_numpy(bool), "test", "ref"),
            "patient": [f"p{k}" for k in patients],
        },
        index=ids,
    )
    x = pd.DataFrame(np.rint(counts.to_numpy(float)).astype(np.int64), index=ids)
    x.columns = counts.columns
    inference = FastInference(n_cpus=max(1, int(n_cpus)))
    design = "~patient + condition" if paired else "~condition"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=x, metadata=meta, design=design, inference=inference, quiet=True)
        dds.deseq2()
        res = DeseqStats(
            dds,
            contrast=["condition", "test", "ref"],
            alpha=alpha,
            inference=inference,
            quiet=True,
        )
        res.summary()
    df = res.results_df
    out = pd.DataFrame(
        {
            "base_mean": df["baseMean"].to_numpy(float),
            "effect": df["log2FoldChange"].to_numpy(float),
            "effect_se": df["lfcSE"].to_numpy(float),
            "stat": df["stat"].to_numpy(float),
            "p": df["pvalue"].to_numpy(float),
            "fdr": df["padj"].to_numpy(float),
        },
        index=pd.Index(counts.columns, name="gene"),
    )
    return out


def lognormal_genes(values: pd.DataFrame, units: pd.DataFrame, *, paired: bool) -> pd.DataFrame:
    """Per-gene t-tests on patient mean log values (paired, or Welch's).

    Parameters
    ----------
    values : pandas.DataFrame
        Units × genes: each unit's mean log-normalised value.
    units : pandas.DataFrame
        Per unit (same index): ``patient`` and ``is_test`` (bool).
    paired : bool
        Paired t-test over the patients (each patient once per condition) instead of Welch.

    Returns
    -------
    pandas.DataFrame
        Indexed by gene: :data:`RESULT_COLUMNS` (``base_mean`` = mean over the units,
        ``effect`` = difference of means test − reference, ``stat`` = t); ``fdr`` is BH.
    """
    is_test = units["is_test"].to_numpy(bool)
    ref = values[~is_test].set_axis(units.loc[~is_test, "patient"].to_numpy())
    test = values[is_test].set_axis(units.loc[is_test, "patient"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        if paired:
            test = test.loc[ref.index]
            d = test.to_numpy(float) - ref.to_numpy(float)
            res = stats.ttest_rel(test.to_numpy(float), ref.to_numpy(float), axis=0)
            se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
        else:
            a, b = test.to_numpy(float), ref.to_numpy(float)
            res = stats.ttest_ind(a, b, axis=0, equal_var=False)
            se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    effect = test.to_numpy(float).mean(axis=0) - ref.to_numpy(float).mean(axis=0)
    p = np.asarray(res.pvalue, dtype=float)
    fdr = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        fdr[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return pd.DataFrame(
        {
            "base_mean": values.to_numpy(float).mean(axis=0),
            "effect": effect,
            "effect_se": se,
            "stat": np.asarray(res.statistic, dtype=float),
            "p": p,
            "fdr": fdr,
        },
        index=pd.Index(values.columns, name="gene"),
    )
