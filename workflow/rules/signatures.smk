rule signatures:
    input:
        sets=paths.signature_files,
        seeds=paths.seeds_table,
        markers=paths.subset_markers_yaml,
    output:
        gmt=paths.library_gmt,
        table=report(
            paths.library_table,
            caption="../report/library.rst",
            category="3. Signatures",
            labels={"table": "signature library"},
        ),
    log:
        paths.log("signatures"),
    benchmark:
        paths.benchmark("signatures")
    conda:
        ENV
    resources:
        mem_mb=cost("signatures"),
        runtime=minutes("signatures"),
    script:
        "../scripts/signatures.py"
