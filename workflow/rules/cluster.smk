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


# UMAP in its own job: seeded UMAP uses one core, and only the figures need it, so it runs
# beside annotation, scoring and sub-clustering instead of before them.
rule umap:
    input:
        h5ad=paths.clustered,
    output:
        umap=paths.umap,
    log:
        paths.log("umap"),
    benchmark:
        paths.benchmark("umap")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=cost("umap"),
        runtime=minutes("umap"),
    script:
        "../scripts/umap.py"
