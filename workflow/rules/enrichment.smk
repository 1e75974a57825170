rule enrichment:
    input:
        clustered="results/{dataset}/clustered.h5ad",
        annotation="results/{dataset}/annotation.tsv",
        library_gmt="results/signatures/tmesig.gmt",
        hallmark_gmt=HALLMARK_GMT,
    output:
        table=report(
            "results/{dataset}/enrichment.tsv",
            caption="../report/enrichment.rst",
            category="6. Enrichment",
            labels={"dataset": "{dataset}", "table": "gseapy prerank"},
        ),
    log:
        "logs/{dataset}/enrichment.log",
    benchmark:
        "logs/{dataset}/enrichment.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(60),
    params:
        enrichment=config["enrichment"],
    script:
        "../scripts/enrichment.py"
