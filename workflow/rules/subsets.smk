# Sub-clustering (rule subsets) and copy number (rule cnv) run side by side after annotate;
# rule states joins their calls; rule subset_figures draws them.
rule subsets:
    input:
        h5ad=paths.clustered,
        annotation=paths.annotation_lineages,
        markers=paths.subset_markers_yaml,
    output:
        cells=temp(paths.subset_calls),
        clusters=report(
            paths.annotation_subclusters,
            caption="../report/annotation_subclusters.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "subset calls per sub-cluster"},
        ),
    log:
        paths.log("subsets"),
    benchmark:
        paths.benchmark("subsets")
    priority: 1  # before umap, which only the figures need
    conda:
        ENV
    threads: 1  # one core: cnv, score and umap run beside it
    resources:
        mem_mb=cost("subsets"),
        runtime=minutes("subsets"),
    params:
        subsets=seeded("subsets"),
    script:
        "../scripts/subsets.py"


rule cnv:
    input:
        h5ad=paths.clustered,
        annotation=paths.annotation_lineages,
        markers=paths.subset_markers_yaml,
    output:
        calls=temp(paths.cnv_calls),
        cnv_heatmap=report(
            paths.cnv_heatmap,
            caption="../report/cnv_heatmap.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "inferred copy number"},
        ),
        cnv_scatter=report(
            paths.cnv_scatter,
            caption="../report/cnv_scatter.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "malignant calls"},
        ),
    log:
        paths.log("cnv"),
    benchmark:
        paths.benchmark("cnv")
    priority: 4  # the longest job after annotate (about 100 s at 100,000 cells): started first
    conda:
        ENV
    threads: 1  # one core: subsets, score and umap run beside it
    resources:
        mem_mb=cost("cnv"),
        runtime=minutes("cnv"),
    params:
        subsets=seeded("subsets"),
        label_mapping=config["annotate"]["label_mapping"],
    script:
        "../scripts/cnv.py"


rule subset_figures:
    input:
        h5ad=paths.clustered,
        umap=paths.umap,
        cells=paths.annotation_subsets,
        annotation=paths.annotation_lineages,
        markers=paths.subset_markers_yaml,
    output:
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
        umap_malignancy=report(
            paths.umap_malignancy,
            caption="../report/umap_malignancy.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "UMAP by malignancy"},
        ),
    log:
        paths.log("subset_figures"),
    benchmark:
        paths.benchmark("subset_figures")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=cost("subset_figures"),
        runtime=minutes("subset_figures"),
    params:
        subsets=seeded("subsets"),
        lineage_min_confidence=config["annotate"]["min_confidence"],
    script:
        "../scripts/subset_figures.py"
