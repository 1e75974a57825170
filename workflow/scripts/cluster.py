import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
from tmesig import cluster, runner


def main():
    p = snakemake.params.cluster
    adata = ad.read_h5ad(snakemake.input.h5ad)
    cluster.cluster(
        adata,
        n_hvg=p["n_hvg"],
        n_pcs=p["n_pcs"],
        n_neighbors=p["n_neighbors"],
        resolution=p["resolution"],
        batch_key=p["batch_key"],
        seed=p["seed"],
    )
    runner.logger.info("%d Leiden clusters", adata.obs["leiden"].nunique())
    adata.write_h5ad(snakemake.output.h5ad, compression="lzf")


runner.run(main, log_path=snakemake.log[0])
