"""Malignant-cell calling from inferred copy number (infercnvpy).

Steps (:func:`call_malignant`)
------------------------------
1. Gene positions: :func:`add_gene_positions` writes ``chromosome`` / ``start`` / ``end``
   into ``adata.var`` from ``resources/genes/grch38_genes.tsv`` (primary chromosomes only;
   genes without a position are ignored by infercnvpy).
2. CNV profiles: ``infercnvpy.tl.infercnv`` (window 100 genes, step 10, chunked) on
   log-normalised expression, with the *reference* cells (default: lineages ``T_NK``,
   ``B_plasma``, ``myeloid``, ``endothelial``, ``fibroblast``; or an explicit mask) as the
   copy-neutral baseline. ``obsm['X_cnv']`` holds the smoothed, reference-subtracted
   profile per cell.
3. CNV clusters: PCA of ``X_cnv``, kNN, Leiden (seeded) -> ``cnv_cluster``.
4. Per cell:

   * ``cnv_score`` = mean ``|X_cnv|`` over windows (amount of copy-number deviation);
   * ``cnv_corr`` = Pearson correlation of the cell's profile with the mean profile of
     the *other* cells of its CNV cluster (leave-one-out), i.e. does the cell share a
     clonal copy-number pattern. Reference cells scatter around zero, so their cluster
     means are noise and their correlations low; tumour clones share gains / losses.

5. Thresholds, derived from *held-out* reference cells: a seeded random half of the
   reference cells of each group is left out of the infercnvpy baseline (cells that
   define the baseline are biased towards zero) and calibrates the thresholds:

   * ``score_threshold`` = the larger of median + ``n_mads`` (3) x 1.4826 x MAD and the
     95th percentile of the held-out cells' ``cnv_score`` (the percentile matters when
     infercnvpy's noise filter zeroes most reference cells and the MAD is 0) (~ the 99.9th percentile of a normal null; median / MAD rather than a
     quantile because the reference always contains a few misannotated tumour cells or
     doublets, which move a 99th percentile a lot — on Qian et al. 2020 the 99th
     percentile of held-out reference cells was 2x the robust bound);
   * ``corr_threshold`` = ``max(min_corr, median + n_mads x 1.4826 x MAD)`` of the
     held-out cells' ``cnv_corr``, clipped to ``[min_corr, max_corr]`` = ``[0.3, 0.5]``
     (with a few dozen reference cells the MAD is wide and the bound can exceed 1, and
     B cells / macrophages keep residual expression-driven structure; Puram et al. 2017
     and Tirosh et al. 2016 called malignant cells at a correlation of 0.4 with the
     tumour's average CNV profile, so 0.5 is on the strict side of published practice).

6. Call, for candidate cells (lineage in ``candidate_lineages``, default ``epithelial``):

   * ``malignant`` if ``cnv_score > score_threshold`` and ``cnv_corr > corr_threshold``;
   * ``non-malignant`` if ``cnv_score <= score_threshold`` and
     ``cnv_corr <= corr_threshold``;
   * ``uncertain`` otherwise (one criterion only).

   Reference cells are always ``non-malignant`` (``note`` flags those above both
   thresholds). Cells of other lineages (including ``unassigned``) are
   ``non-malignant`` unless the evidence is strong: ``cnv_score > strong_factor *
   score_threshold`` and ``cnv_corr > strong_corr`` (defaults 1.5 and 0.6); then they are
   ``malignant`` and ``note`` says so. ``note`` also flags reference cells and cells whose
   lineage forbade a call that the thresholds alone would have made.

Thresholds are stored in the result's ``.attrs``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig import paths

if TYPE_CHECKING:
    import anndata as ad

__all__ = [
    "CANDIDATE_LINEAGES",
    "REFERENCE_LINEAGES",
    "add_gene_positions",
    "call_malignant",
    "cnv_profiles",
]

#: Lineages whose cells serve as the copy-neutral reference by default.
REFERENCE_LINEAGES: tuple[str, ...] = ("T_NK", "B_plasma", "myeloid", "endothelial", "fibroblast")
#: Lineages whose cells may be called malignant on the thresholds alone.
CANDIDATE_LINEAGES: tuple[str, ...] = ("epithelial",)
#: Chromosomes kept when reading the gene table.
PRIMARY_CHROMOSOMES: tuple[str, ...] = tuple(f"chr{i}" for i in range(1, 23)) + ("chrX", "chrY")

CALLS = ("malignant", "non-malignant", "uncertain")


def add_gene_positions(
    adata: ad.AnnData,
    *,
    gene_table: str | Path | None = None,
    overwrite: bool = False,
) -> int:
    """Write ``chromosome``, ``start``, ``end`` into ``adata.var`` from the gene table.

    Parameters
    ----------
    adata
        ``var_names`` are gene symbols (matched to ``gene_name``; if none match, to
        ``gene_id`` for Ensembl-indexed data).
    gene_table
        TSV with columns ``gene_id, gene_name, chrom, start, end``; default
        ``resources/genes/grch38_genes.tsv`` (GENCODE / Ensembl GRCh38).
    overwrite
        Replace existing ``chromosome``/``start``/``end`` columns (default: keep them when
        present, as for data that ship their own positions).

    Returns
    -------
    int
        Number of genes with a position.

    Raises
    ------
    ValueError
        If the table lacks the needed columns or fewer than 100 genes get a position.
    """
    if not overwrite and {"chromosome", "start", "end"} <= set(adata.var.columns):
        return int(adata.var["chromosome"].notna().sum())
    path = Path(paths.GENE_TABLE if gene_table is None else gene_table)
    table = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    need = {"gene_id", "gene_name", "chrom", "start", "end"}
    if not need <= set(table.columns):
        msg = f"Gene table {path} lacks columns {sorted(need - set(table.columns))}; use grch38_genes.tsv."
        raise ValueError(msg)
    table = table[table["chrom"].isin(PRIMARY_CHROMOSOMES)]
    key = "gene_name"
    if not adata.var_names.isin(table["gene_name"]).any():
        key = "gene_id"
    table = table.drop_duplicates(key, keep="first").set_index(key)
    pos = table.reindex(adata.var_names.astype(str))
    adata.var["chromosome"] = pos["chrom"].to_numpy()
    adata.var["start"] = pos["start"].to_numpy()
    adata.var["end"] = pos["end"].to_numpy()
    n = int(pos["chrom"].notna().sum())
    if n < 100:
        msg = (
            f"Only {n} of {adata.n_vars} genes have a position in {path}; var_names must be "
            "HGNC symbols or Ensembl gene ids."
        )
        raise ValueError(msg)
    return n


def cnv_profiles(
    adata: ad.AnnData,
    reference: np.ndarray,
    *,
    reference_groups: Sequence[str] | None = None,
    layer: str | None = None,
    window_size: int = 100,
    step: int = 10,
    chunksize: int = 2000,
    n_jobs: int = 1,
    exclude_chromosomes: Sequence[str] | None = ("chrX", "chrY"),
) -> None:
    """Run ``infercnvpy.tl.infercnv`` with a boolean reference mask (in place: ``X_cnv``).

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` or ``layer``; positions in ``var``.
    reference
        Boolean mask of copy-neutral reference cells.
    reference_groups
        Optional label per cell (e.g. lineage); reference cells are then given to
        infercnvpy as one category per group, so that expression differences *between*
        reference cell types fall inside infercnvpy's reference bounds and are not read
        as copy number.
    layer, window_size, step, chunksize, n_jobs, exclude_chromosomes
        Passed to ``infercnvpy.tl.infercnv``.
    """
    import infercnvpy as cnv

    reference = np.asarray(reference, dtype=bool)
    groups = (
        np.full(adata.n_obs, "reference", dtype=object)
        if reference_groups is None
        else np.asarray(reference_groups, dtype=object).astype(str)
    )
    labels = np.where(reference, np.char.add("ref:", groups.astype(str)), "query")
    cats = sorted(set(labels[reference]))
    key = "_tmesig_cnv_ref"
    adata.obs[key] = pd.Categorical(labels)
    try:
        cnv.tl.infercnv(
            adata,
            reference_key=key,
            reference_cat=cats,
            window_size=window_size,
            step=step,
            chunksize=chunksize,
            n_jobs=n_jobs,
            layer=layer,
            exclude_chromosomes=exclude_chromosomes,
            key_added="cnv",
        )
    finally:
        del adata.obs[key]


def _robust_upper(values: np.ndarray, n_mads: float) -> float:
    """``median + n_mads * 1.4826 * MAD``: an upper bound robust to a few misassigned cells."""
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    return med + n_mads * mad


def _loo_cluster_corr(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row with the mean of the other rows of its cluster."""
    out = np.full(x.shape[0], np.nan)
    for k in np.unique(codes):
        rows = np.flatnonzero(codes == k)
        if rows.size < 2:
            continue
        block = x[rows]
        total = block.sum(axis=0)
        others = (total[None, :] - block) / (rows.size - 1)
        a = block - block.mean(axis=1, keepdims=True)
        b = others - others.mean(axis=1, keepdims=True)
        den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = np.where(den > 0, (a * b).sum(axis=1) / den, 0.0)
    return out


def call_malignant(
    adata: ad.AnnData,
    *,
    lineage: pd.Series | Sequence[str],
    reference: np.ndarray | pd.Series | None = None,
    reference_lineages: Sequence[str] = REFERENCE_LINEAGES,
    candidate_lineages: Sequence[str] = CANDIDATE_LINEAGES,
    candidates: np.ndarray | None = None,
    layer: str | None = None,
    window_size: int = 100,
    step: int = 10,
    chunksize: int = 2000,
    n_jobs: int = 1,
    resolution: float = 0.5,
    seed: int = 0,
    n_mads: float = 3.0,
    min_corr: float = 0.3,
    max_corr: float = 0.5,
    strong_factor: float = 1.5,
    strong_corr: float = 0.6,
    min_reference: int = 10,
) -> pd.DataFrame:
    """Call malignant cells from inferred copy number (see module docstring).

    Parameters
    ----------
    adata
        Log-normalised expression (``log1p`` of normalised counts; for TPM data use
        ``log1p(TPM / 10)``) in ``X`` or ``layer``; ``var_names`` gene symbols. Gene
        positions are added with :func:`add_gene_positions` unless ``var`` has them.
        Modified in place: ``obsm['X_cnv']``, ``uns['cnv']``, ``obsm['X_cnv_pca']``.
    lineage
        Lineage per cell (``cells["compartment"]`` of :func:`tmesig.annotate.annotate`).
    reference
        Optional boolean mask of reference cells; default: lineage in
        ``reference_lineages``.
    reference_lineages, candidate_lineages
        See module docstring.
    candidates
        Optional boolean mask of candidate cells overriding ``candidate_lineages`` (for
        non-epithelial tumours, e.g. glioma: every non-reference cell).
    layer, window_size, step, chunksize, n_jobs
        Passed to ``infercnvpy.tl.infercnv``.
    resolution, seed
        Leiden on the CNV profiles.
    n_mads, min_corr, max_corr, strong_factor, strong_corr
        Thresholds (see module docstring).
    min_reference
        Minimum number of reference cells.

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``; columns ``lineage``, ``is_reference``, ``cnv_cluster``,
        ``cnv_score``, ``cnv_corr``, ``cnv_call`` (``malignant`` / ``non-malignant`` /
        ``uncertain``), ``note``. ``.attrs``: ``score_threshold``, ``corr_threshold``,
        ``strong_score_threshold``, ``strong_corr``, ``n_reference``, ``seconds``.

    Raises
    ------
    ValueError
        Too few reference cells, or misaligned ``lineage`` / ``reference``.
    """
    import scanpy as sc

    t0 = time.perf_counter()
    if isinstance(lineage, pd.Series):
        lin = lineage.reindex(adata.obs_names).astype(object).fillna("unassigned").astype(str)
    else:
        lin = pd.Series(np.asarray(lineage, dtype=str), index=adata.obs_names)
    if len(lin) != adata.n_obs:
        msg = f"lineage has {len(lin)} labels for {adata.n_obs} cells; pass one per cell."
        raise ValueError(msg)
    if reference is None:
        ref = lin.isin(list(reference_lineages)).to_numpy()
    else:
        ref = (
            reference.reindex(adata.obs_names).fillna(False).to_numpy(dtype=bool)
            if isinstance(reference, pd.Series)
            else np.asarray(reference, dtype=bool)
        )
        if ref.shape != (adata.n_obs,):
            msg = "reference must be a boolean mask with one entry per cell."
            raise ValueError(msg)
    if ref.sum() < min_reference:
        msg = (
            f"Only {int(ref.sum())} reference cells (need >= {min_reference}); pass "
            "reference= with known normal cells or widen reference_lineages."
        )
        raise ValueError(msg)

    # Hold out a seeded random half of the reference cells (per group) to calibrate the
    # thresholds: cells that defined the baseline are biased towards zero.
    rng = np.random.default_rng(seed)
    groups = lin.to_numpy() if reference is None else np.full(adata.n_obs, "reference")
    heldout = np.zeros(adata.n_obs, dtype=bool)
    for g in np.unique(groups[ref]):
        members = np.flatnonzero(ref & (groups == g))
        if members.size >= 4:
            pick = rng.permutation(members)[: members.size // 2]
            heldout[pick] = True
    baseline = ref & ~heldout

    add_gene_positions(adata)
    cnv_profiles(
        adata,
        baseline,
        reference_groups=groups,
        layer=layer,
        window_size=window_size,
        step=step,
        chunksize=chunksize,
        n_jobs=n_jobs,
    )
    x = adata.obsm["X_cnv"]
    x = x.toarray() if sp.issparse(x) else np.asarray(x)

    # CNV clusters (PCA -> kNN -> Leiden, seeded).
    from sklearn.decomposition import PCA

    n_comps = int(max(2, min(30, x.shape[0] - 1, x.shape[1] - 1)))
    pcs = PCA(n_components=n_comps, random_state=seed, svd_solver="arpack").fit_transform(
        x - x.mean(axis=0)
    )
    adata.obsm["X_cnv_pca"] = pcs
    tmp = sc.AnnData(np.zeros((adata.n_obs, 1), dtype=np.float32), obsm={"X_pca": pcs})
    sc.pp.neighbors(tmp, use_rep="X_pca", n_neighbors=min(15, adata.n_obs - 1), random_state=seed)
    sc.tl.leiden(
        tmp,
        resolution=resolution,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        random_state=seed,
    )
    codes = tmp.obs["leiden"].astype(int).to_numpy()

    score = np.abs(x).mean(axis=1)
    corr = _loo_cluster_corr(x, codes)
    corr = np.nan_to_num(corr, nan=0.0)
    score_thr = max(_robust_upper(score[heldout], n_mads), float(np.quantile(score[heldout], 0.95)))
    corr_thr = float(min(max_corr, max(min_corr, _robust_upper(corr[heldout], n_mads))))
    strong_thr = strong_factor * score_thr

    hi_score = score > score_thr
    hi_corr = corr > corr_thr
    if candidates is None:
        candidate = lin.isin(list(candidate_lineages)).to_numpy() & ~ref
    else:
        candidate = np.asarray(candidates, dtype=bool) & ~ref
    strong = (score > strong_thr) & (corr > max(strong_corr, corr_thr))

    call = np.full(adata.n_obs, "non-malignant", dtype=object)
    call[candidate & hi_score & hi_corr] = "malignant"
    call[candidate & (hi_score ^ hi_corr)] = "uncertain"
    call[~candidate & ~ref & strong] = "malignant"

    lin_arr = lin.to_numpy()
    note = np.full(adata.n_obs, "", dtype=object)
    note[baseline] = "reference cell (baseline)"
    note[heldout] = "reference cell (held out, calibrates thresholds)"
    ref_high = ref & hi_score & hi_corr
    note[ref_high] = [f"{x}; CNV above thresholds: check its annotation" for x in note[ref_high]]
    other = ~candidate & ~ref & ~strong & hi_score & hi_corr
    note[other] = [
        f"lineage {lv} is not a candidate: CNV above thresholds but below strong evidence"
        for lv in lin_arr[other]
    ]
    strong_other = ~candidate & ~ref & strong
    note[strong_other] = [
        f"lineage {lv} is not a candidate: called on strong CNV evidence"
        for lv in lin_arr[strong_other]
    ]

    out = pd.DataFrame(
        {
            "lineage": lin.to_numpy(),
            "is_reference": ref,
            "is_heldout_reference": heldout,
            "cnv_cluster": pd.Categorical([str(c) for c in codes]),
            "cnv_score": score,
            "cnv_corr": corr,
            "cnv_call": pd.Categorical(call, categories=list(CALLS)),
            "note": note,
        },
        index=adata.obs_names.copy(),
    )
    out.attrs.update(
        {
            "score_threshold": score_thr,
            "corr_threshold": corr_thr,
            "strong_score_threshold": strong_thr,
            "strong_corr": max(strong_corr, corr_thr),
            "n_mads": n_mads,
            "n_reference": int(ref.sum()),
            "n_heldout_reference": int(heldout.sum()),
            "window_size": window_size,
            "seconds": time.perf_counter() - t0,
        }
    )
    return out
