import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import pandas as pd
from tmesig import enrichment, runner, signatures


def main():
    p = snakemake.params.enrichment
    adata = ad.read_h5ad(snakemake.input.clustered)
    comp = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)["compartment"]
    adata.obs["compartment"] = comp.reindex(adata.obs_names).astype(str).to_numpy()
    rankings = enrichment.rank_genes(adata, groupby="compartment", method=p["method"])
    collections = {
        "tmesig": signatures.read_gmt(snakemake.input.library_gmt),
        "hallmark": signatures.read_gmt(snakemake.input.hallmark_gmt),
    }
    res = enrichment.prerank(
        rankings,
        collections,
        permutation_num=p["permutation_num"],
        seed=p["seed"],
        min_size=p["min_size"],
        max_size=p["max_size"],
    )
    res.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.6g")
    runner.logger.info("%d enrichment rows for %d compartments", len(res), len(rankings))


runner.run(main, log_path=snakemake.log[0])
