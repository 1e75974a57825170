import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import pandas as pd
from tmesig import report, runner, signatures


def main():
    out = snakemake.output
    adata = ad.read_h5ad(snakemake.input.clustered)
    ann = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)
    adata.obs["compartment"] = ann.loc[adata.obs_names, "compartment"].astype("category")
    scores = pd.read_parquet(snakemake.input.scores).loc[adata.obs_names]
    flags = pd.read_csv(snakemake.input.flags, sep="\t")
    comps = pd.read_csv(snakemake.input.compartments, sep="\t")
    metrics = pd.read_csv(snakemake.input.qc_metrics, sep="\t", index_col=0)
    umap = adata.obsm["X_umap"]

    fig = report.umap_categorical(umap, adata.obs["compartment"], title="TME compartment")
    fig.savefig(out.umap_compartment, dpi=130, bbox_inches="tight")
    card = [gs.name for gs in signatures.load_library(snakemake.input.sets) if gs.card]
    report.umap_scores(umap, scores, sets=card).savefig(
        out.umap_scores, dpi=110, bbox_inches="tight"
    )
    report.dotplot_genes(adata, snakemake.params.card_genes, groupby="compartment").savefig(
        out.dotplot, dpi=130, bbox_inches="tight"
    )
    report.heatmap_compartment_sets(comps, flags).savefig(out.heatmap, dpi=130, bbox_inches="tight")
    report.qc_violins(metrics).savefig(out.qc_violin, dpi=110, bbox_inches="tight")


runner.run(main, log_path=snakemake.log[0])
