rule de:
    input:
        clustered=paths.clustered,
        annotation=paths.annotation,
        library_gmt=paths.library_gmt,
        hallmark_gmt=paths.hallmark_gmt,
    output:
        de_conditions=paths.de_conditions,
        enrichment_conditions=report(
            paths.enrichment_conditions,
            caption="../report/enrichment_conditions.rst",
            category="6. Enrichment",
            labels={
                "dataset": "{dataset}",
                "table": "prerank of the condition comparison",
            },
        ),
    log:
        paths.log("de"),
    benchmark:
        paths.benchmark("de")
    priority: 3  # the longest job after states (122 s at 100,000 cells on one thread): started first
    conda:
        ENV
    threads: 1  # mostly one core: runs beside flag, enrichment, genes (more: --set-threads de=N)
    resources:
        mem_mb=cost("de"),
        runtime=minutes("de"),
    params:
        conditions=config["conditions"],
        enrichment=seeded("enrichment"),
    script:
        "../scripts/de.py"
