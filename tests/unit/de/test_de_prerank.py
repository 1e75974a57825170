"""tmesig.de.prerank_conditions: a planted ranking finds the planted set."""

import numpy as np
import pandas as pd
from tmesig import de


def test_prerank_finds_planted_set():
    rng = np.random.default_rng(0)
    genes = [f"G{i:04d}" for i in range(600)]
    stat = rng.normal(0, 1, len(genes))
    stat[:25] += 4.0  # the planted set is at the top of the ranking
    de_table = pd.DataFrame(
        {
            "level": "state",
            "compartment": "CD8_exhausted",
            "parent": "T_NK",
            "gene": genes,
            "reference": "R",
            "test": "NR",
            "method": "pydeseq2",
            "stat": stat,
        }
    )
    sets = {f"random_{k}": list(rng.choice(genes[25:], 25, replace=False)) for k in range(8)}
    collections = {"library": {"planted": genes[:25], **sets}, "hallmark": {}}
    opts = de.DeOptions(permutation_num=200, seed=0)
    out = de.prerank_conditions(de_table, collections, options=opts)
    assert list(out.columns) == list(de.ENRICHMENT_COLUMNS)
    top = out.set_index("gene_set")
    assert top.loc["planted", "nes"] > 0 and top.loc["planted", "fdr"] < 0.05
    assert (top.drop("planted")["fdr"] > 0.05).all()
    assert top.loc["planted", "n_genes"] == 25 and top.loc["planted", "n_genes_found"] == 25
    assert set(top["source"]) == {"library"} and set(top["parent"]) == {"T_NK"}
    again = de.prerank_conditions(de_table, collections, options=opts)
    pd.testing.assert_frame_equal(out, again)  # seeded: the same table twice
