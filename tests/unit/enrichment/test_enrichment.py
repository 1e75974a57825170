import numpy as np
import pandas as pd
from tmesig import enrichment


def _es_by_hand(ranked: pd.Series, genes: set[str]) -> float:
    """Weighted (p=1) Kolmogorov–Smirnov running sum of Subramanian et al. 2005."""
    hit = ranked.index.isin(list(genes))
    w = np.abs(ranked.to_numpy()) * hit
    p_hit = np.cumsum(w) / w.sum()
    p_miss = np.cumsum(~hit) / (~hit).sum()
    dev = p_hit - p_miss
    return float(dev[np.argmax(np.abs(dev))])


def test_prerank_finds_planted_set_and_es_matches_hand_computation():
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(500)]
    scores = pd.Series(np.sort(rng.normal(size=500))[::-1] + np.linspace(3, -3, 500), index=genes)
    top = set(genes[:40:2])  # planted at the top of the ranking
    rand = set(rng.choice(genes, 20, replace=False))
    res = enrichment.prerank(
        {"myeloid": scores},
        {"tmesig": {"top": sorted(top), "random": sorted(rand)}},
        permutation_num=200,
        seed=1,
    )
    res = res.set_index("term")
    assert res.loc["top", "nes"] > 0 and res.loc["top", "fdr"] < 0.05
    assert res.loc["random", "fdr"] > 0.05
    assert np.isclose(res.loc["top", "es"], _es_by_hand(scores, top), atol=1e-3)
    assert np.isclose(res.loc["random", "es"], _es_by_hand(scores, rand), atol=1e-3)
    assert (res["collection"] == "tmesig").all() and (res["group"] == "myeloid").all()


def test_rank_genes_puts_planted_markers_first(planted):
    import scanpy as sc

    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    ranks = enrichment.rank_genes(a, groupby="group")
    assert set(ranks) == {"A", "B", "C"}
    assert set(ranks["B"].index[:15]) == {f"G{i}" for i in range(15, 30)}
