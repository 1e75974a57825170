"""The memory / stem-like CD8 set (cd8_memory_stem) against real T cells (Wu et al. 2020)."""

import anndata as ad
import numpy as np
import scanpy as sc
from scipy.stats import mannwhitneyu
from tmesig import paths
from tmesig.signatures import load_library

WU = paths.RESOURCES / "testdata" / "wu2020_200_tcells.h5ad"


def _scored() -> ad.AnnData:
    adata = ad.read_h5ad(WU)
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    memory = next(s for s in load_library() if s.name == "cd8_memory_stem")
    assert memory.direction == "down" and "TCF7" in memory.genes
    # leave TCF7 out: the rest of the set must find the TCF7+ cells on its own
    rest = [g for g in memory.genes if g != "TCF7"]
    sc.tl.score_genes(adata, rest, random_state=0, score_name="memory")
    return adata


def test_the_set_without_tcf7_marks_tcf7_expressing_t_cells():
    adata = _scored()
    tcf7 = np.asarray(adata[:, "TCF7"].X.todense()).ravel() > 0
    score = adata.obs["memory"].to_numpy()
    assert tcf7.sum() >= 20
    p = mannwhitneyu(score[tcf7], score[~tcf7], alternative="greater").pvalue
    assert p < 0.01


def test_the_authors_tcf7_cluster_scores_above_effector_and_resident_cd8_clusters():
    adata = _scored()
    means = adata.obs.groupby("cluster_orig", observed=True)["memory"].mean()
    effector = [c for c in means.index if c.startswith(("8.1", "8.2", "8.3"))]
    assert len(effector) >= 3
    assert means["4.3-TCF7"] > means[effector].max()
