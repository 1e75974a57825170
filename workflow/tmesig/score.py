"""Scoring: one score per cell and gene set, with an audit of which genes were found.

The score is scanpy's ``score_genes`` (mean expression of the set minus the mean of
expression-matched control genes), seeded. A set whose fraction of genes found in the
data is below ``min_coverage`` is not scored; the coverage table says so.
"""

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from .signatures import GeneSet

__all__ = ["coverage_table", "score_cells"]


def coverage_table(adata: ad.AnnData, sets: Sequence[GeneSet], *, min_coverage: float) -> pd.DataFrame:
    """Which genes of each set are in the data, and whether the set will be scored.

    Parameters
    ----------
    adata
        Data whose ``var_names`` are gene symbols.
    sets
        Gene sets.
    min_coverage
        Minimum fraction of a set's genes that must be present for it to be scored.

    Returns
    -------
    DataFrame
        One row per set: ``set``, ``n_genes``, ``n_found``, ``fraction``, ``n_expressed``
        (found genes with a non-zero value in at least one cell), ``scored``, ``reason``,
        ``genes_found``, ``genes_missing``.
    """
    present = set(adata.var_names)
    x = adata.X
    nnz_per_gene = (
        np.diff(sp.csc_matrix(x).indptr) if sp.issparse(x) else np.count_nonzero(np.asarray(x), axis=0)
    )
    expressed = set(adata.var_names[np.asarray(nnz_per_gene) > 0])
    rows = []
    for gs in sets:
        found = [g for g in gs.genes if g in present]
        missing = [g for g in gs.genes if g not in present]
        frac = len(found) / len(gs.genes) if gs.genes else 0.0
        n_expr = sum(g in expressed for g in found)
        if frac < min_coverage:
            scored, reason = False, f"coverage {frac:.2f} < min_coverage {min_coverage:.2f}"
        elif n_expr == 0:
            scored, reason = False, "no gene of the set is expressed in any cell"
        else:
            scored, reason = True, ""
        rows.append(
            {
                "set": gs.name,
                "direction": gs.direction,
                "n_genes": len(gs.genes),
                "n_found": len(found),
                "fraction": round(frac, 4),
                "n_expressed": int(n_expr),
                "scored": scored,
                "reason": reason,
                "genes_found": ",".join(found),
                "genes_missing": ",".join(missing),
            }
        )
    return pd.DataFrame(rows)


def score_cells(
    adata: ad.AnnData,
    sets: Sequence[GeneSet],
    *,
    min_coverage: float = 0.5,
    ctrl_size: int = 50,
    n_bins: int = 25,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every cell for every set that passes the coverage audit.

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` (all genes), symbols as ``var_names``.
    sets
        Gene sets (see :func:`tmesig.signatures.load_library`).
    min_coverage
        Sets with a smaller fraction of their genes present are reported and not scored.
    ctrl_size, n_bins, seed
        Passed to :func:`scanpy.tl.score_genes` (``random_state=seed``).

    Returns
    -------
    scores, coverage
        ``scores``: cells × scored sets (float32, index ``obs_names``);
        ``coverage``: see :func:`coverage_table`.
    """
    coverage = coverage_table(adata, sets, min_coverage=min_coverage)
    work = ad.AnnData(X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names))
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
        columns[gs.name] = work.obs["_score"].to_numpy(dtype=np.float32)
    scores = pd.DataFrame(columns, index=adata.obs_names)
    scores.index.name = "cell"
    return scores, coverage
