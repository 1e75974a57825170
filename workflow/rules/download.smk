rule download:
    output:
        "resources/downloads/{dataset}.{ext}",
    log:
        "logs/{dataset}/download.{ext}.log",
    benchmark:
        "logs/{dataset}/download.{ext}.benchmark.tsv"
    wildcard_constraints:
        ext="h5ad|h5",
    conda:
        ENV
    resources:
        mem_mb=500,
    params:
        url=download_url,
        sha256=download_sha256,
    script:
        "../scripts/download.py"
