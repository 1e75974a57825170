rule download:
    output:
        data=paths.download,
    log:
        paths.log("download.{ext}"),
    benchmark:
        paths.benchmark("download.{ext}")
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
