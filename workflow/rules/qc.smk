rule qc:
    input:
        h5ad="results/{dataset}/ingested.h5ad",
    output:
        h5ad="results/{dataset}/qc.h5ad",
        metrics="results/{dataset}/qc_metrics.tsv",
        summary=report(
            "results/{dataset}/qc_summary.tsv",
            caption="../report/qc_summary.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "table": "QC summary per sample"},
        ),
    log:
        "logs/{dataset}/qc.log",
    benchmark:
        "logs/{dataset}/qc.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(80),
    params:
        qc=config["qc"],
    script:
        "../scripts/qc.py"
