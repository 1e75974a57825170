"""The cross-dataset page: each dataset's headline, the pairs flagged anywhere (or the
strongest candidates), agreement of direction, coverage differences and the heatmap."""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._format import gene_set, num, tab
from ._render import Code, Heading, Image, Items, Para, Table

__all__ = ["HEATMAP_NAME", "TABLE_NAME", "cross_page"]

#: File names inside ``results/summary/``.
TABLE_NAME = "flags_by_dataset.tsv"
HEATMAP_NAME = "heatmap_sets_by_dataset.png"


def _dataset_items(t: pd.DataFrame, datasets: Sequence[str], alpha: float) -> tuple:
    items = []
    for ds in datasets:
        d = t[(t["dataset"] == ds) & (t["family"] == "primary") & t["n_samples"].notna()]
        cond = t.loc[(t["dataset"] == ds) & t["condition_contrast"].notna(), "condition_contrast"]
        sig = int((t.loc[t["dataset"] == ds, "condition_fdr"] <= alpha).sum())
        words = f"{cond.iloc[0]}, {sig} at FDR ≤ {alpha:g}" if len(cond) else "none compared"
        items.append(
            (
                Code(ds),
                f": {int(d['flagged'].sum())} of {len(d)} pre-specified tests flagged; "
                f"conditions: {words} (",
                tab("summary.html", f"../{ds}/summary.html"),
                ", ",
                tab("flags.tsv", f"../{ds}/flags.tsv"),
                ")",
            )
        )
    return tuple(items)


def _cell(r: pd.Series | None) -> str:
    if r is None or pd.isna(r["effect"]):
        return "–" if r is None or not r["note"] else f"– ({r['note']})"
    flag = ", flagged" if r["flagged"] else ""
    return f"{r['effect']:+.2f} (FDR {num(r['fdr'])}{flag})"


def _pair_table(t: pd.DataFrame, pairs: pd.DataFrame, datasets: Sequence[str], titles) -> Table:
    by = t.set_index(["dataset", "compartment", "set"])
    rows = []
    for p in pairs.itertuples(index=False):
        cells = [
            _cell(
                by.loc[(ds, p.compartment, p.set)]
                if (ds, p.compartment, p.set) in by.index
                else None
            )
            for ds in datasets
        ]
        rows.append((gene_set(p.set, titles.get(p.set, p.set)), p.compartment, *cells))
    cols = ("gene set", "compartment", *[f"{ds}: effect (FDR)" for ds in datasets])
    numeric = (False, False, *[True] * len(datasets))
    return Table(cols, tuple(rows), source=tab(TABLE_NAME), numeric=numeric)


def _agreement(t: pd.DataFrame, datasets: Sequence[str]) -> str:
    prim = t[t["family"] == "primary"]
    wide = prim.pivot_table(index=["compartment", "set"], columns="dataset", values="effect")
    wide = wide.reindex(columns=list(datasets)).dropna()
    if wide.empty:
        return "No pre-specified pair was measured in every dataset."
    signs = np.sign(wide.to_numpy())
    same = int((signs == signs[:, :1]).all(axis=1).sum())
    return (
        f"Of the {len(wide)} pre-specified pairs measured in every dataset, {same} point the "
        "same way (effect towards or away from resistance) in all of them."
    )


def cross_page(
    table: pd.DataFrame, *, titles: dict[str, str], alpha: float = 0.05, heatmap: bytes = b""
) -> list:
    """The cross-dataset page, as blocks.

    Parameters
    ----------
    table
        :func:`tmesig.findings.flags_by_dataset`.
    titles
        Set id -> title.
    alpha
        FDR level named in the text (``flag.alpha``).
    heatmap
        The heatmap's PNG bytes, embedded in the HTML.
    """
    datasets = list(dict.fromkeys(table["dataset"]))
    out: list = [Heading(f"Findings across {len(datasets)} datasets", level=1)]
    out.append(Items(_dataset_items(table, datasets, alpha)))
    pairs = table.loc[table["flagged"], ["compartment", "set"]].drop_duplicates()
    if len(pairs):
        out.append(
            Para(
                f"{len(pairs)} compartment × set pair(s) flagged in at least one dataset "
                "(effect in SD units, positive towards resistance):"
            )
        )
    else:
        prim = table[(table["family"] == "primary") & table["p"].notna()]
        pairs = (
            prim.sort_values(["p", "set", "compartment"])
            .drop_duplicates(["compartment", "set"])
            .head(10)[["compartment", "set"]]
        )
        out.append(
            Para(
                "Nothing is flagged in any dataset. The pre-specified pairs with the "
                "smallest p in any dataset (effect in SD units, positive towards "
                "resistance):"
            )
        )
    out.append(_pair_table(table, pairs, datasets, titles))
    out.append(Para((_agreement(table, datasets), " (", tab(TABLE_NAME), ")")))
    out += _coverage(table, datasets)
    if heatmap:
        out.append(Image(HEATMAP_NAME, "gene set × compartment effects by dataset", heatmap))
    return out


def _coverage(t: pd.DataFrame, datasets: Sequence[str]) -> list:
    cov = (
        t.drop_duplicates(["dataset", "set"])
        .pivot_table(index="set", columns="dataset", values="coverage")
        .reindex(columns=list(datasets))
    )
    differ = cov[cov.nunique(axis=1, dropna=False) > 1]
    if differ.empty:
        return [Para("Every gene set has the same gene coverage in every dataset.")]
    rows = tuple(
        (Code(s), *[num(v, ".0%") for v in r])
        for s, r in zip(differ.index, differ.to_numpy(), strict=True)
    )
    return [
        Heading("Gene coverage that differs between datasets"),
        Table(
            ("gene set", *datasets),
            rows,
            source=tab(TABLE_NAME),
            numeric=(False, *[True] * len(datasets)),
        ),
    ]
