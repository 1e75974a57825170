# Targets and shared constants of the analysis stages (conditions, composition, enrichment).

HALLMARK_GMT = str(REPO / "resources/genesets/h.all.v7.5.1.symbols.gmt")


def analysis_outputs():
    """Targets of the condition, composition and enrichment stages, for every dataset."""
    out = []
    for ds in samples.index:
        out += [
            f"results/{ds}/conditions.tsv",
            f"results/{ds}/composition.tsv",
            f"results/{ds}/enrichment.tsv",
            f"results/{ds}/report/forest_conditions.png",
            f"results/{ds}/report/composition_by_patient.png",
        ]
    return out
