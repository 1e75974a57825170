"""gseapy prerank of rankings against collections given as dictionaries (local GMT files
only, never an online library name)."""

from collections.abc import Mapping

import pandas as pd

__all__ = ["prerank"]

_COLUMNS: tuple[str, ...] = (
    "group",
    "collection",
    "term",
    "es",
    "nes",
    "p",
    "fdr",
    "fwer",
    "tag_fraction",
    "lead_genes",
)


def prerank(
    rankings: Mapping[str, pd.Series],
    collections: Mapping[str, Mapping[str, list[str]]],
    *,
    permutation_num: int = 1000,
    seed: int = 0,
    min_size: int = 3,
    max_size: int = 500,
    threads: int = 1,
) -> pd.DataFrame:
    """Run :func:`gseapy.prerank` for every ranking against every collection.

    Parameters
    ----------
    rankings : Mapping of str to pandas.Series
        Group name → gene score, highest first.
    collections : Mapping of str to Mapping of str to list of str
        Collection name (e.g. ``tmesig``, ``hallmark``) → term → genes. All collections are
        tested in one call per group, so the FDR is over all their terms.
    permutation_num : int
        gseapy permutations.
    seed : int
        gseapy seed.
    min_size, max_size : int
        Terms with fewer/more genes in the ranking are skipped by gseapy.
    threads : int
        gseapy's threads: they share out the permutations, drawn once from ``seed``
        beforehand, so the results are the same for any number.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``collection``, ``term``, ``es``, ``nes``, ``p``, ``fdr``, ``fwer``,
        ``tag_fraction``, ``lead_genes``; sorted by group, FDR and term.
    """
    import gseapy

    gene_sets = {f"{c}::{t}": list(g) for c, terms in collections.items() for t, g in terms.items()}
    frames = []
    for group, rnk in rankings.items():
        res = gseapy.prerank(
            rnk=rnk,
            gene_sets=gene_sets,
            permutation_num=permutation_num,
            seed=seed,
            threads=max(1, int(threads)),
            outdir=None,
            min_size=min_size,
            max_size=max_size,
            verbose=False,
        ).res2d
        if res.empty:
            continue
        coll_term = res["Term"].str.split("::", n=1, expand=True)
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "collection": coll_term[0],
                    "term": coll_term[1],
                    "es": res["ES"].astype(float),
                    "nes": res["NES"].astype(float),
                    "p": res["NOM p-val"].astype(float),
                    "fdr": res["FDR q-val"].astype(float),
                    "fwer": res["FWER p-val"].astype(float),
                    "tag_fraction": res["Tag %"].astype(str),
                    "lead_genes": res["Lead_genes"].astype(str),
                }
            )
        )
    cols = list(_COLUMNS)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["group", "fdr", "term"], kind="stable").reset_index(drop=True)[cols]
