"""``score_cells``: the coverage audit, then one scoring method over the sets that pass it."""

from collections.abc import Sequence
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from ..signatures import GeneSet
from ._genes import GeneStats, coverage_table, gene_stats
from ._mean_diff import score_mean_diff
from ._options import METHODS, ScoreOptions
from ._rank import score_rank


def _score_scanpy(
    adata: ad.AnnData,
    coverage: pd.DataFrame,
    sets: Sequence[GeneSet],
    *,
    ctrl_size: int,
    n_bins: int,
    seed: int,
) -> pd.DataFrame:
    if adata.isbacked:
        msg = (
            "method='scanpy' needs the matrix in memory (scanpy cannot score backed data); "
            "use method='mean_diff', which gives the same numbers in bounded memory."
        )
        raise ValueError(msg)
    work = ad.AnnData(
        X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names)
    )
    columns: dict[str, np.ndarray] = {}
    for gs, row in zip(sets, coverage.itertuples(index=False), strict=True):
        if not row.scored:
            continue
        sc.tl.score_genes(
            work,
            gene_list=row.genes_found.split(","),
            ctrl_size=ctrl_size,
            n_bins=n_bins,
            random_state=seed,
            score_name="_score",
            use_raw=False,
        )
        columns[gs.name] = work.obs["_score"].to_numpy(dtype=np.float64)
    return pd.DataFrame(columns, index=adata.obs_names.copy())


def _raw_scores(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    coverage: pd.DataFrame,
    stats: GeneStats,
    opts: ScoreOptions,
) -> pd.DataFrame:
    """Cells × scored sets with the chosen method (float64, or empty with none scored)."""
    scored = [gs for gs, ok in zip(sets, coverage["scored"], strict=True) if ok]
    if not scored:
        return pd.DataFrame(index=adata.obs_names.copy())
    if opts.method == "mean_diff":
        return score_mean_diff(
            adata,
            scored,
            ctrl_size=opts.ctrl_size,
            n_bins=opts.n_bins,
            seed=opts.seed,
            chunk_size=opts.chunk_size,
            stats=stats,
        )
    if opts.method == "rank":
        names = {gs.name for gs in scored}
        down = {k: v for k, v in (opts.down_genes or {}).items() if k in names}
        return score_rank(
            adata, scored, max_rank=opts.max_rank, down_genes=down, chunk_size=opts.chunk_size
        )
    return _score_scanpy(
        adata, coverage, sets, ctrl_size=opts.ctrl_size, n_bins=opts.n_bins, seed=opts.seed
    )


def _provenance(opts: ScoreOptions) -> dict[str, Any]:
    """The method and the parameters it used, for ``scores.attrs["tmesig_score"]``."""
    params: dict[str, Any] = {
        "method": opts.method,
        "min_coverage": opts.min_coverage,
        "min_genes": opts.min_genes,
    }
    if opts.method in ("mean_diff", "scanpy"):
        params.update(ctrl_size=opts.ctrl_size, n_bins=opts.n_bins, seed=opts.seed)
    else:
        params.update(max_rank=opts.max_rank, down_genes=sorted(opts.down_genes or {}))
    return params


def score_cells(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    options: ScoreOptions | None = None,
    stats: GeneStats | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every cell for every set that passes the coverage audit.

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` (all genes), symbols as ``var_names``; in
        memory or backed (``anndata.read_h5ad(path, backed="r")``, not for ``scanpy``).
    sets
        Gene sets (see :func:`tmesig.signatures.load_library`).
    options
        :class:`ScoreOptions`: the method (``mean_diff`` by default) and its parameters,
        ``min_coverage``, ``min_genes`` and ``chunk_size``.
    stats
        :func:`~tmesig.score.gene_stats` computed beforehand, e.g. over all cells when
        ``adata`` is one block of them (scatter-gather): the block's scores are then the rows
        the whole data gives (not for ``scanpy``, which bins genes on the cells it is given).

    Returns
    -------
    scores, coverage
        ``scores``: cells × scored sets (float32, index ``obs_names`` named ``cell``), with
        ``scores.attrs["tmesig_score"]`` recording the method and its parameters;
        ``coverage``: see :func:`coverage_table`.

    Raises
    ------
    ValueError
        For an unknown method, ``method="scanpy"`` on backed data or with ``stats``, or
        ``stats`` of another number of genes.
    """
    opts = options if options is not None else ScoreOptions()
    if opts.method not in METHODS:
        msg = f"unknown scoring method '{opts.method}'; use one of {', '.join(METHODS)}."
        raise ValueError(msg)
    if stats is None:
        stats = gene_stats(adata, chunk_size=opts.chunk_size)
    elif len(stats.means) != adata.n_vars or opts.method == "scanpy":
        msg = "stats must hold one value per gene of adata and cannot be used with 'scanpy'."
        raise ValueError(msg)
    coverage = coverage_table(
        adata, sets, min_coverage=opts.min_coverage, min_genes=opts.min_genes, stats=stats
    )
    scores = _raw_scores(adata, sets, coverage, stats, opts).astype(np.float32)
    scores.index.name = "cell"
    scores.attrs["tmesig_score"] = _provenance(opts)
    return scores, coverage
