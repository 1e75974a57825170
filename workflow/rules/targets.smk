# Targets and shared constants of the analysis stages (conditions, composition, enrichment).

HALLMARK_GMT = str(REPO / "resources/genesets/h.all.v7.5.1.symbols.gmt")
SUBSET_MARKERS = resource(
    config["subsets"]["markers"], "resources/markers/subsets.yaml"
)


def analysis_outputs():
    """Targets of the subset, condition, composition and enrichment stages, per dataset."""
    out = []
    for ds in samples.index:
        out += [
            f"results/{ds}/conditions.tsv",
            f"results/{ds}/composition.tsv",
            f"results/{ds}/enrichment.tsv",
            f"results/{ds}/report/forest_conditions.png",
            f"results/{ds}/report/composition_by_patient.png",
            f"results/{ds}/label_agreement.tsv",
        ]
        if config["subsets"]["enabled"]:
            out += [
                f"results/{ds}/annotation_subsets.tsv",
                f"results/{ds}/report/umap_subsets.png",
                f"results/{ds}/report/cnv_heatmap.png",
            ]
    return out
