rule subsets:
    input:
        h5ad=paths.clustered,
        annotation=paths.annotation_lineages,
        markers=paths.subset_markers_yaml,
    output:
        cells=paths.annotation_subsets,
        clusters=report(
            paths.annotation_subclusters,
            caption="../report/annotation_subclusters.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "subset calls per sub-cluster"},
        ),
        umap=report(
            paths.umap_subsets,
            caption="../report/umap_subsets.rst",
            category="2. Compartments",
            labels={
                "dataset": "{dataset}",
                "figure": "UMAP by lineage and subset",
            },
        ),
        dotplot=report(
            paths.subset_markers,
            caption="../report/subset_markers.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "subset markers"},
        ),
        confidence=report(
            paths.annotation_confidence,
            caption="../report/annotation_confidence.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "annotation confidence"},
        ),
        cnv_heatmap=report(
            paths.cnv_heatmap,
            caption="../report/cnv_heatmap.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "inferred copy number"},
        ),
        umap_malignancy=report(
            paths.umap_malignancy,
            caption="../report/umap_malignancy.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "UMAP by malignancy"},
        ),
        cnv_scatter=report(
            paths.cnv_scatter,
            caption="../report/cnv_scatter.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "malignant calls"},
        ),
    log:
        paths.log("subsets"),
    benchmark:
        paths.benchmark("subsets")
    conda:
        ENV
    threads: 1  # mostly one core (mean load 0.9 at 100,000 cells): score runs beside it
    resources:
        mem_mb=cost("subsets"),
        runtime=minutes("subsets"),
    params:
        subsets=seeded("subsets"),
        lineage_min_confidence=config["annotate"]["min_confidence"],
        label_mapping=config["annotate"]["label_mapping"],
    script:
        "../scripts/subsets.py"
