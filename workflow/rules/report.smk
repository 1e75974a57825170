rule figures:
    input:
        clustered=paths.clustered,
        annotation=paths.annotation,
        scores=paths.scores,
        flags=paths.flags,
        compartments=paths.compartments,
        qc_metrics=paths.qc_metrics,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        umap_compartment=report(
            paths.umap_compartment,
            caption="../report/umap_compartment.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "UMAP by compartment"},
        ),
        umap_scores=report(
            paths.umap_scores,
            caption="../report/umap_scores.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "figure": "UMAP by key scores"},
        ),
        dotplot=report(
            paths.dotplot_card_genes,
            caption="../report/dotplot_card_genes.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "figure": "card genes by compartment"},
        ),
        heatmap=report(
            paths.heatmap_compartment_sets,
            caption="../report/heatmap_compartment_sets.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "figure": "compartment x set heatmap"},
        ),
        qc_violin=report(
            paths.qc_violin,
            caption="../report/qc_violin.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "figure": "QC metrics per sample"},
        ),
    log:
        paths.log("figures"),
    benchmark:
        paths.benchmark("figures")
    conda:
        ENV
    resources:
        mem_mb=mem_for(60),
    script:
        "../scripts/figures.py"
