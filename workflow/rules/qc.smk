rule qc:
    input:
        h5ad=paths.ingested,
    output:
        metrics=paths.qc_metrics,
        summary=report(
            paths.qc_summary,
            caption="../report/qc_summary.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "table": "QC summary per sample"},
        ),
    log:
        paths.log("qc"),
    benchmark:
        paths.benchmark("qc")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=cost("qc"),
        runtime=minutes("qc"),
    params:
        qc=seeded("qc"),
        ingest=config["ingest"],
    script:
        "../scripts/qc.py"
