rule cluster:
    input:
        h5ad=paths.ingested,
        metrics=paths.qc_metrics,
        summary=paths.qc_summary,  # the input mode QC resolved
    output:
        h5ad=paths.clustered,
    log:
        paths.log("cluster"),
    benchmark:
        paths.benchmark("cluster")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=cost("cluster"),
        runtime=minutes("cluster"),
    params:
        cluster=seeded("cluster"),
        qc=config["qc"],
        ingest=config["ingest"],
    script:
        "../scripts/cluster.py"
