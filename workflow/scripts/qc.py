import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
from tmesig import qc, runner


def main():
    p = snakemake.params.qc
    adata = ad.read_h5ad(snakemake.input.h5ad)
    kept, metrics, summary = qc.run_qc(
        adata,
        nmads=p["nmads"],
        nmads_mito=p["nmads_mito"],
        max_pct_mito=p["max_pct_mito"],
        min_pct_mito=p["min_pct_mito"],
        min_genes=p["min_genes"],
        min_cells_per_gene=p["min_cells_per_gene"],
        doublets=p["doublets"],
        min_cells_doublets=p["min_cells_doublets"],
        seed=p["seed"],
    )
    runner.logger.info("QC kept %d of %d cells", kept.n_obs, adata.n_obs)
    metrics.to_csv(snakemake.output.metrics, sep="\t", float_format="%.6g")
    summary.to_csv(snakemake.output.summary, sep="\t", index=False, float_format="%.6g")
    kept.write_h5ad(snakemake.output.h5ad, compression="lzf")


runner.run(main, log_path=snakemake.log[0])
