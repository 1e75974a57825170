rule subsets:
    input:
        h5ad="results/{dataset}/clustered.h5ad",
        annotation="results/{dataset}/annotation.tsv",
        markers=SUBSET_MARKERS,
    output:
        cells="results/{dataset}/annotation_subsets.tsv",
        clusters=report(
            "results/{dataset}/annotation_subclusters.tsv",
            caption="../report/annotation_subclusters.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "subset calls per sub-cluster"},
        ),
        umap=report(
            "results/{dataset}/report/umap_subsets.png",
            caption="../report/umap_subsets.rst",
            category="2. Compartments",
            labels={
                "dataset": "{dataset}",
                "figure": "UMAP by lineage, subset, CNV call",
            },
        ),
        dotplot=report(
            "results/{dataset}/report/subset_markers.png",
            caption="../report/subset_markers.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "subset markers"},
        ),
        confidence=report(
            "results/{dataset}/report/annotation_confidence.png",
            caption="../report/annotation_confidence.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "annotation confidence"},
        ),
        cnv_heatmap=report(
            "results/{dataset}/report/cnv_heatmap.png",
            caption="../report/cnv_heatmap.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "inferred copy number"},
        ),
        cnv_scatter=report(
            "results/{dataset}/report/cnv_scatter.png",
            caption="../report/cnv_scatter.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "malignant calls"},
        ),
    log:
        "logs/{dataset}/subsets.log",
    benchmark:
        "logs/{dataset}/subsets.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(120, floor=3000),
    params:
        subsets=config["subsets"],
    script:
        "../scripts/subsets.py"
