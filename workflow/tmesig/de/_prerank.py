"""Condition-aware enrichment: gseapy prerank of each compartment's DE statistic.

Each tested compartment's genes are ranked by the statistic of the condition comparison
(pydeseq2's Wald ``stat``, or the t statistic without counts), test over reference, and run
through :func:`tmesig.enrichment.prerank` (gseapy, seeded; its threads share out the
permutations, not the results) against the signature library and the Hallmark collection.
A positive NES means the set's genes are higher in the test condition *within* the
compartment, unlike ``enrichment.tsv``, which ranks a compartment against the others and
mostly finds identity genes.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import enrichment
from ..constants import COL_COMPARTMENT, COL_LEVEL, COL_PARENT
from ._options import DeOptions

__all__ = ["ENRICHMENT_COLUMNS", "prerank_conditions"]

#: Columns of ``enrichment_conditions.tsv``.
ENRICHMENT_COLUMNS: tuple[str, ...] = (
    COL_LEVEL,
    COL_COMPARTMENT,
    COL_PARENT,
    "gene_set",
    "source",
    "n_genes",
    "n_genes_found",
    "reference",
    "test",
    "method",
    "es",
    "nes",
    "p",
    "fdr",
    "lead_genes",
)
_SEP = "::"


def prerank_conditions(
    de: pd.DataFrame,
    collections: Mapping[str, Mapping[str, list[str]]],
    *,
    options: DeOptions | None = None,
) -> pd.DataFrame:
    """gseapy prerank of every tested compartment's DE statistic.

    Parameters
    ----------
    de : pandas.DataFrame
        :func:`tmesig.de.compare_genes` output (rows with a gene and a finite ``stat``).
    collections : Mapping of str to Mapping of str to list of str
        Source name (``library``, ``hallmark``) → gene set → genes.
    options : DeOptions, optional
        ``permutation_num``, ``min_size``, ``max_size``, ``seed``.

    Returns
    -------
    pandas.DataFrame
        :data:`ENRICHMENT_COLUMNS`: one row per compartment × gene set that gseapy tested;
        ``n_genes`` = genes of the set, ``n_genes_found`` = of them in the ranking; ``fdr``
        is gseapy's FDR over all sets of the compartment. Sorted by level, compartment, FDR.
    """
    opts = DeOptions() if options is None else options
    tested = de[(de["gene"].astype(str) != "") & np.isfinite(de["stat"].astype(float))]
    rankings, info = {}, {}
    for (level, comp), sub in tested.groupby([COL_LEVEL, COL_COMPARTMENT], sort=True):
        rnk = sub.set_index("gene")["stat"].astype(float)
        # deterministic order: statistic, then gene name for ties
        order = np.lexsort((rnk.index.to_numpy(str), -rnk.to_numpy()))
        rankings[f"{level}{_SEP}{comp}"] = rnk.iloc[order]
        info[f"{level}{_SEP}{comp}"] = sub.iloc[0]
    res = enrichment.prerank(
        rankings,
        collections,
        permutation_num=opts.permutation_num,
        seed=opts.seed,
        min_size=opts.min_size,
        max_size=opts.max_size,
        threads=opts.threads,
    )
    if res.empty:
        return pd.DataFrame(columns=list(ENRICHMENT_COLUMNS))
    first = pd.DataFrame([info[g] for g in res["group"]]).reset_index(drop=True)
    sizes = {(c, t): len(g) for c, terms in collections.items() for t, g in terms.items()}
    found = res["tag_fraction"].str.split("/").str[1]
    out = pd.DataFrame(
        {
            COL_LEVEL: first[COL_LEVEL],
            COL_COMPARTMENT: first[COL_COMPARTMENT],
            COL_PARENT: first[COL_PARENT],
            "gene_set": res["term"],
            "source": res["collection"],
            "n_genes": [sizes[(c, t)] for c, t in zip(res["collection"], res["term"], strict=True)],
            "n_genes_found": pd.to_numeric(found, errors="coerce").astype("Int64"),
            "reference": first["reference"],
            "test": first["test"],
            "method": first["method"],
            "es": res["es"],
            "nes": res["nes"],
            "p": res["p"],
            "fdr": res["fdr"],
            "lead_genes": res["lead_genes"],
        }
    )
    return out.reset_index(drop=True)
