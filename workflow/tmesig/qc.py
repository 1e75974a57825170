"""Quality control: per-sample adaptive thresholds and doublet removal.

Thresholds follow the usual median ± k·MAD rule, computed separately in each sample on
``log1p(total counts)``, ``log1p(genes detected)`` (both sides) and on the percentage of
mitochondrial counts (upper side only). Doublets are called with scanpy's scrublet, one
sample at a time.
"""

from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

__all__ = ["mad_bounds", "qc_metrics", "run_qc"]


def mad_bounds(values: np.ndarray, *, nmads: float) -> tuple[float, float]:
    """Return ``(median - nmads * MAD, median + nmads * MAD)`` with the raw (unscaled) MAD.

    Parameters
    ----------
    values
        One metric for the cells of one sample.
    nmads
        Number of median absolute deviations on each side.
    """
    values = np.asarray(values, dtype=np.float64)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    return med - nmads * mad, med + nmads * mad


def qc_metrics(adata: ad.AnnData, *, layer: str = "counts") -> pd.DataFrame:
    """Per-cell total counts, genes detected and mitochondrial percentage.

    Mitochondrial genes are those whose symbol starts with ``MT-``; when a dataset has none
    (gene-subset matrices), ``pct_mito`` is NaN and the mitochondrial filter is skipped.
    """
    x = adata.layers[layer] if layer in adata.layers else adata.X
    x = sp.csr_matrix(x)
    total = np.asarray(x.sum(axis=1)).ravel().astype(np.float64)
    genes = np.diff(x.indptr).astype(np.int64)
    mito = np.asarray(adata.var_names.str.upper().str.startswith("MT-"))
    if mito.any():
        mt = np.asarray(x[:, np.flatnonzero(mito)].sum(axis=1)).ravel()
        pct = np.divide(100.0 * mt, total, out=np.zeros_like(total), where=total > 0)
    else:
        pct = np.full(adata.n_obs, np.nan)
    return pd.DataFrame(
        {"total_counts": total, "n_genes": genes, "pct_mito": pct}, index=adata.obs_names
    )


def run_qc(
    adata: ad.AnnData,
    *,
    nmads: float = 5.0,
    nmads_mito: float = 3.0,
    max_pct_mito: float = 25.0,
    min_pct_mito: float = 5.0,
    min_genes: int = 200,
    min_cells_per_gene: int = 3,
    doublets: bool = True,
    min_cells_doublets: int = 100,
    seed: int = 0,
    sample_key: str = "sample",
) -> tuple[ad.AnnData, pd.DataFrame, pd.DataFrame]:
    """Flag and remove low-quality cells and doublets, sample by sample.

    Parameters
    ----------
    adata
        Ingested data: counts in ``layers["counts"]`` and ``obs[sample_key]``.
    nmads
        MADs around the per-sample median of ``log1p`` counts and genes.
    nmads_mito
        MADs above the per-sample median of % mitochondrial counts.
    max_pct_mito
        A cell above this % mitochondrial is removed whatever the MAD rule says.
    min_pct_mito
        A cell at or below this % mitochondrial is never removed for it (the MAD of a
        tight distribution would otherwise cut healthy cells).
    min_genes
        Absolute floor on genes detected.
    min_cells_per_gene
        Genes detected in fewer cells (after cell filtering) are dropped.
    doublets
        Run scrublet per sample.
    min_cells_doublets
        Samples with fewer cells are not screened for doublets (recorded in the summary).
    seed
        Seed for scrublet.
    sample_key
        obs column with the sample of each cell.

    Returns
    -------
    filtered, metrics, summary
        The kept cells (and genes), a per-cell table of metrics, flags and the reason each
        removed cell was removed, and a per-sample table of thresholds and counts.
    """
    m = qc_metrics(adata)
    m.insert(0, "sample", adata.obs[sample_key].astype(str).to_numpy())
    m["log_counts"] = np.log1p(m["total_counts"])
    m["log_genes"] = np.log1p(m["n_genes"])
    m["doublet_score"] = np.nan
    m["predicted_doublet"] = False
    rows: list[dict[str, Any]] = []
    reasons = pd.Series([""] * len(m), index=m.index, dtype=object)

    def add(mask: np.ndarray, label: str) -> None:
        idx = m.index[mask]
        reasons.loc[idx] = [f"{r};{label}" if r else label for r in reasons.loc[idx]]

    for sample, sub in m.groupby("sample", sort=True, observed=True):
        lo_c, hi_c = mad_bounds(sub["log_counts"].to_numpy(), nmads=nmads)
        lo_g, hi_g = mad_bounds(sub["log_genes"].to_numpy(), nmads=nmads)
        sel = m["sample"].to_numpy() == sample
        add(sel & (m["log_counts"].to_numpy() < lo_c), "low_counts")
        add(sel & (m["log_counts"].to_numpy() > hi_c), "high_counts")
        add(sel & (m["log_genes"].to_numpy() < lo_g), "low_genes")
        add(sel & (m["log_genes"].to_numpy() > hi_g), "high_genes")
        add(sel & (m["n_genes"].to_numpy() < min_genes), "below_min_genes")
        row: dict[str, Any] = {
            "sample": sample,
            "cells_in": int(sel.sum()),
            "min_total_counts": float(np.expm1(lo_c)),
            "max_total_counts": float(np.expm1(hi_c)),
            "min_genes": float(max(np.expm1(lo_g), min_genes)),
            "max_genes": float(np.expm1(hi_g)),
        }
        pct = sub["pct_mito"].to_numpy()
        if np.all(np.isnan(pct)):
            row["max_pct_mito"] = np.nan
            row["mito_filter"] = "skipped: no MT- genes in the matrix"
        else:
            _, hi_m = mad_bounds(pct, nmads=nmads_mito)
            cut = min(max(hi_m, min_pct_mito), max_pct_mito)
            add(sel & (m["pct_mito"].to_numpy() > cut), "high_mito")
            row["max_pct_mito"] = float(cut)
            row["mito_filter"] = "applied"
        rows.append(row)

    if doublets:
        for row in rows:
            sample = row["sample"]
            sel = np.flatnonzero(m["sample"].to_numpy() == sample)
            if len(sel) < min_cells_doublets:
                row["doublets"] = f"skipped: {len(sel)} cells < {min_cells_doublets}"
                continue
            sub = ad.AnnData(X=sp.csr_matrix(adata.layers["counts"][sel]), var=adata.var[[]])
            sub.obs_names = adata.obs_names[sel]
            sc.pp.scrublet(sub, random_state=seed, verbose=False)
            m.loc[sub.obs_names, "doublet_score"] = sub.obs["doublet_score"].to_numpy()
            pred = sub.obs["predicted_doublet"].to_numpy().astype(bool)
            m.loc[sub.obs_names, "predicted_doublet"] = pred
            row["doublets"] = "applied"
            row["doublet_threshold"] = float(sub.uns["scrublet"]["threshold"])
        add(m["predicted_doublet"].to_numpy().astype(bool), "doublet")

    m["removed_reason"] = reasons.replace("", "kept")
    m["kept"] = reasons.to_numpy() == ""
    summary = pd.DataFrame(rows)
    kept_per = m.groupby("sample", observed=True)["kept"].sum()
    summary["cells_kept"] = summary["sample"].map(kept_per).astype(int)
    summary["cells_removed"] = summary["cells_in"] - summary["cells_kept"]
    for label in (
        "low_counts",
        "high_counts",
        "low_genes",
        "high_genes",
        "below_min_genes",
        "high_mito",
        "doublet",
    ):
        per = m.groupby("sample", observed=True)["removed_reason"].apply(
            lambda s, lab=label: int(s.str.split(";").apply(lambda r: lab in r).sum())
        )
        summary[f"n_{label}"] = summary["sample"].map(per).astype(int)

    out = adata[m["kept"].to_numpy()].copy()
    if out.n_obs == 0:
        msg = (
            "QC removed every cell; loosen config qc.nmads / qc.min_genes or check the input matrix"
        )
        raise ValueError(msg)
    gene_cells = np.diff(sp.csc_matrix(out.layers["counts"]).indptr)
    out = out[:, gene_cells >= min_cells_per_gene].copy()
    for col in ("total_counts", "n_genes", "pct_mito", "doublet_score"):
        out.obs[col] = m.loc[out.obs_names, col].to_numpy()
    m = m.drop(columns=["log_counts", "log_genes"])
    m.index.name = "cell"
    return out, m, summary
