rule cluster:
    input:
        h5ad="results/{dataset}/qc.h5ad",
    output:
        h5ad="results/{dataset}/clustered.h5ad",
    log:
        "logs/{dataset}/cluster.log",
    benchmark:
        "logs/{dataset}/cluster.benchmark.tsv"
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=mem_for(100, floor=3000),
    params:
        cluster=config["cluster"],
    script:
        "../scripts/cluster.py"
