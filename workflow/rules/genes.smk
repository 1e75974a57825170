rule genes:
    input:
        clustered=paths.clustered,
        annotation=paths.annotation,
        coverage=paths.coverage,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        table=report(
            paths.genes,
            caption="../report/genes.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "table": "genes by compartment and state"},
        ),
        dotplot=report(
            paths.dotplot_genes_levels,
            caption="../report/dotplot_genes_levels.rst",
            category="3. Signatures",
            labels={
                "dataset": "{dataset}",
                "figure": "card genes by lineage and state",
            },
        ),
    log:
        paths.log("genes"),
    benchmark:
        paths.benchmark("genes")
    conda:
        ENV
    resources:
        mem_mb=cost("genes"),
        runtime=minutes("genes"),
    params:
        genes=config["genes"],
    script:
        "../scripts/genes.py"
