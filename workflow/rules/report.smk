rule figures:
    input:
        clustered=paths.clustered,
        umap=paths.umap,
        annotation=paths.annotation,
        scores=paths.scores,
        coverage=paths.coverage,
        flags=paths.flags,
        compartments=paths.compartments,
        qc_metrics=paths.qc_metrics,
        qc_summary=paths.qc_summary,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        umap_compartment=report(
            paths.umap_compartment,
            caption="../report/umap_compartment.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "UMAP by compartment"},
        ),
        umap_samples=report(
            paths.umap_samples,
            caption="../report/umap_samples.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "figure": "UMAP by sample and patient"},
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
        heatmap_states=report(
            paths.heatmap_states,
            caption="../report/heatmap_states.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "figure": "cell state x set heatmap"},
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
        mem_mb=cost("figures"),
        runtime=minutes("figures"),
    params:
        flag=config["flag"],
    script:
        "../scripts/figures.py"


# Only for datasets whose sheet names a condition column (paths.conditioned): no figure else.
rule forest:
    input:
        conditions=paths.conditions,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        forest=report(
            paths.forest_conditions,
            caption="../report/forest_conditions.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "figure": "condition effects"},
        ),
    log:
        paths.log("forest"),
    benchmark:
        paths.benchmark("forest")
    conda:
        ENV
    resources:
        mem_mb=cost("forest"),
        runtime=minutes("forest"),
    script:
        "../scripts/forest.py"
