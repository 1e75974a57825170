"""Per compartment, every gene ranked by a group-versus-rest test (scanpy's statistics).

* ``t-test`` and ``t-test_overestim_var`` (the default): streamed. Each group's and its
  rest's mean and variance come from one pass over the cells, a chunk at a time
  (:func:`tmesig.enrichment._stream.group_moments`), then scanpy's Welch test
  (``scipy.stats.ttest_ind_from_stats``), scanpy's log fold change and scanpy's ordering of
  the genes: the scores equal ``scanpy.tl.rank_genes_groups``'s float for float, and so does
  the gene order prerank receives. Memory: one chunk, never the matrix.
* ``wilcoxon`` and ``logreg`` need every cell's values at once: they run
  ``scanpy.tl.rank_genes_groups`` in memory on at most ``max_cells`` cells. Above it, a
  seeded sample stratified by group keeps each group's share of the cells (a group keeps at
  least ``min(its cells, 1,000)``), and the note says so.
"""

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
from scipy import stats

from ..constants import UNASSIGNED
from ..io.kept_cells import read_rows
from ._stream import GroupMoments, group_moments

__all__ = [
    "STREAMED",
    "RankOptions",
    "capped_rows",
    "rank_genes",
    "rank_genes_chunked",
    "welch_table",
]

#: Methods computed from streamed per-group sums.
STREAMED = ("t-test", "t-test_overestim_var")


@dataclass(frozen=True)
class RankOptions:
    """How genes are ranked per group.

    Attributes
    ----------
    method : str
        ``t-test``, ``t-test_overestim_var`` (streamed), ``wilcoxon`` or ``logreg``.
    min_cells : int
        Smallest group kept.
    chunk_size : int
        Cells read at a time by the streamed methods.
    max_cells : int
        Most cells an in-memory method (``wilcoxon``, ``logreg``) holds; above, a stratified
        sample.
    group_floor : int
        Cells a group keeps at least in that sample (all when it has fewer).
    seed : int
        Seed of that sample.
    """

    method: str = "t-test"
    min_cells: int = 10
    chunk_size: int = 10_000
    max_cells: int = 50_000
    group_floor: int = 1_000
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict, **overrides: int) -> "RankOptions":
        """From the config's ``enrichment`` section (``method``, ``seed``; the others from
        ``overrides`` or the defaults)."""
        return cls(
            method=section.get("method", cls.method), seed=int(section.get("seed", 0)), **overrides
        )


def _groups(labels: pd.Series, min_cells: int) -> list[str]:
    sizes = labels.value_counts()
    return sorted(g for g, n in sizes.items() if g != UNASSIGNED and n >= min_cells)


def _scanpy_order(scores: np.ndarray) -> np.ndarray:
    """The gene order of ``rank_genes_groups`` with every gene (its ``_select_top_n``)."""
    n = scores.shape[0]
    partition = np.argpartition(scores, -n)[-n:]
    return np.arange(n)[partition][np.argsort(scores[partition])[::-1]]


def welch_table(moments: GroupMoments, group: int, *, method: str) -> pd.DataFrame:
    """scanpy's t-test of one group against its rest, from the group moments.

    Parameters
    ----------
    moments : GroupMoments
        Per-group means and variances (:func:`~tmesig.enrichment._stream.group_moments`).
    group : int
        Row of the group.
    method : str
        ``t-test`` or ``t-test_overestim_var`` (the rest counted as the group's size).

    Returns
    -------
    pandas.DataFrame
        Indexed by gene position: ``scores``, ``pvals``, ``logfoldchanges`` as scanpy
        computes them (``NaN`` scores 0, ``NaN`` p 1), in scanpy's order of the genes.
    """
    if method not in STREAMED:
        msg = f"method must be one of {STREAMED}, got {method!r}"
        raise ValueError(msg)
    n = int(moments.n[group])
    n_rest = n if method == "t-test_overestim_var" else int(moments.n_rest[group])
    mean, mean_rest = moments.mean[group], moments.mean_rest[group]
    with np.errstate(invalid="ignore"):
        scores, pvals = stats.ttest_ind_from_stats(
            mean1=mean,
            std1=np.sqrt(moments.var[group]),
            nobs1=n,
            mean2=mean_rest,
            std2=np.sqrt(moments.var_rest[group]),
            nobs2=n_rest,
            equal_var=False,
        )
    scores[np.isnan(scores)] = 0
    pvals[np.isnan(pvals)] = 1
    lfc = np.log2((np.expm1(mean) + 1e-9) / (np.expm1(mean_rest) + 1e-9))
    order = _scanpy_order(scores)
    return pd.DataFrame(
        {"scores": scores[order], "pvals": pvals[order], "logfoldchanges": lfc[order]},
        index=order,
    )


def _ranked(names: pd.Index, scores: np.ndarray) -> pd.Series:
    """Scores as scanpy stores them (float32), finite, highest first (ties: scanpy's order)."""
    index = pd.Index(names, name="names")
    s = pd.Series(scores.astype(np.float32), index=index, name="scores").astype(float)
    return s[np.isfinite(s)].sort_values(ascending=False, kind="stable")


def rank_genes_chunked(
    adata: ad.AnnData, labels: pd.Series, *, options: RankOptions | None = None
) -> dict[str, pd.Series]:
    """Per group, all genes ranked by ``options.method``, never holding the whole matrix.

    Parameters
    ----------
    adata : anndata.AnnData
        Backed (``read_expression(path, backed=True)``) or in memory.
    labels : pandas.Series
        Each cell's group, in ``adata``'s cell order; ``unassigned`` and groups of fewer than
        ``options.min_cells`` cells are left out (neither group nor rest).
    options : RankOptions or None
        Method, smallest group, chunk size and the in-memory cap (None: the defaults).

    Returns
    -------
    dict of str to pandas.Series
        As :func:`rank_genes`: group (sorted) -> finite scores by gene, highest first;
        empty when fewer than two groups are kept.
    """
    options = options or RankOptions()
    labels = pd.Series(np.asarray(labels).astype(str))
    groups = _groups(labels, options.min_cells)
    if len(groups) < 2:
        return {}
    if options.method not in STREAMED:
        return _rank_in_memory(adata, labels, groups, options)
    codes = pd.Categorical(labels, categories=groups).codes.astype(np.int64)
    moments = group_moments(adata, codes, n_groups=len(groups), chunk_size=options.chunk_size)
    names = pd.Index(adata.var_names.astype(str))
    out = {}
    for i, g in enumerate(groups):
        table = welch_table(moments, i, method=options.method)
        out[g] = _ranked(names[table.index], table["scores"].to_numpy())
    return out


def capped_rows(
    labels: pd.Series, groups: list[str], *, max_cells: int, seed: int, floor: int = 1_000
) -> np.ndarray:
    """Increasing row positions of the grouped cells, a stratified sample above ``max_cells``.

    Parameters
    ----------
    labels : pandas.Series
        Each cell's group (positional).
    groups : list of str
        The groups kept.
    max_cells : int
        Most cells kept; each group keeps its share, at least ``min(its cells, floor)``.
    seed : int
        Seed of the sample.
    floor : int
        Cells a group keeps at least (so the total may pass ``max_cells`` by the floors).

    Returns
    -------
    numpy.ndarray
        Row positions, increasing.
    """
    lab = labels.to_numpy()
    rows = np.flatnonzero(np.isin(lab, groups))
    if rows.size <= max_cells:
        return rows
    rng = np.random.default_rng(seed)
    keep = []
    for g in groups:
        members = rows[lab[rows] == g]
        share = round(members.size * max_cells / rows.size)
        take = min(members.size, max(share, floor))
        keep.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(keep))


def _rank_in_memory(
    adata: ad.AnnData, labels: pd.Series, groups: list[str], options: RankOptions
) -> dict[str, pd.Series]:
    rows = capped_rows(
        labels, groups, max_cells=options.max_cells, seed=options.seed, floor=options.group_floor
    )
    sub = read_rows(adata, rows)
    x = sub.X
    del sub
    frame = ad.AnnData(X=x, obs=pd.DataFrame({"g": labels.to_numpy()[rows]}))
    frame.obs_names = [str(i) for i in rows]
    frame.var_names = adata.var_names.astype(str)
    return rank_genes(frame, groupby="g", method=options.method, min_cells=options.min_cells)


def rank_genes(
    adata: ad.AnnData, *, groupby: str, method: str = "t-test", min_cells: int = 10
) -> dict[str, pd.Series]:
    """Per group, all genes ranked by scanpy's ``rank_genes_groups`` score (group vs rest),
    on an in-memory matrix.

    Groups named ``unassigned`` or with fewer than ``min_cells`` cells are skipped; "rest"
    is the other kept groups.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised expression in ``X``.
    groupby : str
        ``obs`` column of the groups (e.g. ``compartment``).
    method : str
        ``scanpy.tl.rank_genes_groups`` method.
    min_cells : int
        Smallest group kept.

    Returns
    -------
    dict of str to pandas.Series
        Group (sorted) -> finite scores indexed by gene, highest first; empty when fewer
        than two groups are kept.
    """
    labels = adata.obs[groupby].astype(str)
    groups = _groups(labels, min_cells)
    if len(groups) < 2:
        return {}
    keep = labels.isin(groups).to_numpy()
    sub = ad.AnnData(
        X=adata.X[keep],
        obs=pd.DataFrame({"g": pd.Categorical(labels[keep])}),
        var=pd.DataFrame(index=adata.var_names),
    )
    sub.obs_names = adata.obs_names[keep]
    sc.tl.rank_genes_groups(sub, "g", method=method, use_raw=False, n_genes=sub.n_vars)
    out = {}
    for g in groups:
        df = sc.get.rank_genes_groups_df(sub, group=g)
        s = df.set_index("names")["scores"].astype(float)
        out[g] = s[np.isfinite(s)].sort_values(ascending=False, kind="stable")
    return out
