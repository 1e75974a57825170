import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
from tmesig import cnv, report_annotation, runner, subsets


def _note_figure(text):
    fig = plt.figure(figsize=(7, 1.5))
    fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    return fig


def main():
    p = snakemake.params.subsets
    out = snakemake.output
    adata = ad.read_h5ad(snakemake.input.h5ad)
    lineage = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)
    lineage = lineage.loc[adata.obs_names, "compartment"].astype(str)
    markers = subsets.load_subset_markers(snakemake.input.markers)
    cells, clusters = subsets.annotate_subsets(
        adata,
        lineage,
        markers=markers,
        resolution=p["resolution"],
        seed=p["seed"],
        min_confidence=p["min_confidence"],
        propagation_alpha=p["propagation_alpha"],
    )
    if p["cnv"]:
        calls = cnv.call_malignant(
            adata, lineage=lineage, window_size=p["cnv_window"], seed=p["seed"]
        )
        cells = cells.join(calls.drop(columns=["lineage"]))
        cells["final_subset"] = subsets.merge_malignant(cells, calls)
        runner.logger.info("CNV thresholds: %s", calls.attrs)
        report_annotation.cnv_heatmap(_with_calls(adata, calls)).savefig(
            out.cnv_heatmap, dpi=100, bbox_inches="tight"
        )
        report_annotation.cnv_scatter(calls).savefig(out.cnv_scatter, dpi=120, bbox_inches="tight")
    else:
        cells["cnv_call"] = "not run"
        cells["final_subset"] = cells["subset"]
        for f in (out.cnv_heatmap, out.cnv_scatter):
            _note_figure("copy-number inference disabled (subsets.cnv: false)").savefig(f)
    cells.index.name = "cell"
    cells.to_csv(out.cells, sep="\t", float_format="%.6g")
    clusters.to_csv(out.clusters, sep="\t", index=False, float_format="%.6g")
    adata.obs["lineage"] = lineage
    adata.obs["final_subset"] = cells["final_subset"].astype(str)
    adata.obs["cnv_call"] = cells["cnv_call"].astype(str)
    report_annotation.umap_by(adata, keys=("lineage", "final_subset", "cnv_call")).savefig(
        out.umap, dpi=110, bbox_inches="tight"
    )
    genes = {s.name: list(s.genes) for s in markers.subsets}
    try:
        fig = report_annotation.marker_dotplot(adata, markers=genes, groupby="final_subset")
    except ValueError as err:
        fig = _note_figure(str(err))
    fig.savefig(out.dotplot, dpi=110, bbox_inches="tight")
    lineage_conf = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)["confidence"]
    report_annotation.confidence_distribution(
        {"lineage": lineage_conf, "subset": cells["subset_confidence"]},
        threshold=p["min_confidence"],
    ).savefig(out.confidence, dpi=110, bbox_inches="tight")
    runner.logger.info("subsets: %s", cells["final_subset"].value_counts().to_dict())


def _with_calls(adata, calls):
    adata.obs["cnv_call"] = calls["cnv_call"].reindex(adata.obs_names).astype(str).to_numpy()
    adata.obs["cnv_call"] = adata.obs["cnv_call"].astype("category")
    return adata


runner.run(main, log_path=snakemake.log[0])
