rule enrichment:
    input:
        clustered=paths.clustered,
        annotation=paths.annotation,
        library_gmt=paths.library_gmt,
        hallmark_gmt=paths.hallmark_gmt,
    output:
        table=report(
            paths.enrichment,
            caption="../report/enrichment.rst",
            category="6. Enrichment",
            labels={"dataset": "{dataset}", "table": "gseapy prerank"},
        ),
    log:
        paths.log("enrichment"),
    benchmark:
        paths.benchmark("enrichment")
    priority: 1  # third longest after states (68 s at 100,000 cells)
    conda:
        ENV
    threads: 1  # mostly one core: runs beside de, flag, genes
    resources:
        mem_mb=cost("enrichment"),
        runtime=minutes("enrichment"),
    params:
        enrichment=seeded("enrichment"),
    script:
        "../scripts/enrichment.py"
