import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import pandas as pd
from tmesig import annotate, celltypist_bridge, runner


def main():
    p = snakemake.params.annotate
    label_col = snakemake.params.row.get("label_col", "")
    markers = annotate.load_markers(snakemake.input.markers)
    adata = ad.read_h5ad(snakemake.input.h5ad)
    cells, clusters = annotate.annotate(
        adata,
        markers,
        cluster_key="leiden",
        min_confidence=p["min_confidence"],
        min_margin=p["min_margin"],
        min_score=p["min_score"],
    )
    cells.insert(0, "source", "tmesig markers")
    if label_col:
        column = f"orig_{label_col}"
        if column not in adata.obs.columns:
            msg = (
                f"{snakemake.input.h5ad}: the sample sheet's label_col {label_col!r} is not an obs "
                "column of the dataset; fix label_col in the sample sheet"
            )
            raise runner.InputError(msg)
        mapping = p["label_mapping"] or None
        author = celltypist_bridge.labels_from_column(adata, column, mapping)
        table, fraction = celltypist_bridge.agreement_table(
            cells["compartment"], author["label"], mapping=mapping
        )
        table.to_csv(snakemake.output.agreement, sep="\t")
        runner.logger.info("agreement with author labels (%s): %.3f", label_col, fraction)
        cells["author_label"] = author["label"]
        if p["use_author_labels"]:
            cells["tmesig_compartment"] = cells["compartment"]
            cells["compartment"] = author["compartment"]
            cells["confidence"] = author["confidence"]
            cells["source"] = f"author labels ({label_col})"
    else:
        pd.DataFrame(
            {"note": ["no author labels: name an obs column in the sample sheet's label_col"]}
        ).to_csv(snakemake.output.agreement, sep="\t", index=False)
    if p["celltypist_model"]:
        ct = celltypist_bridge.run_celltypist(
            adata,
            model_path=p["celltypist_model"],
            majority_voting=p["celltypist_majority_voting"],
            over_clustering="leiden" if "leiden" in adata.obs else None,
        )
        ours = cells.get("tmesig_compartment", cells["compartment"])
        mapping = p["celltypist_mapping"] or None
        table, fraction = celltypist_bridge.agreement_table(
            ours, ct["celltypist_label"], mapping=mapping
        )
        table.to_csv(snakemake.output.celltypist, sep="\t")
        runner.logger.info("agreement with CellTypist: %.3f", fraction)
        cells = cells.join(ct)
    else:
        pd.DataFrame(
            {"note": ["no CellTypist model: name a local .pkl in annotate.celltypist_model"]}
        ).to_csv(snakemake.output.celltypist, sep="\t", index=False)
    cells.index.name = "cell"
    cells.to_csv(snakemake.output.cells, sep="\t", float_format="%.6g")
    clusters.to_csv(snakemake.output.clusters, sep="\t", index=False, float_format="%.6g")
    runner.logger.info("compartments: %s", cells["compartment"].value_counts().to_dict())


runner.run(main, log_path=snakemake.log[0])
