rule score:
    input:
        h5ad=paths.clustered,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        scores=paths.scores,
        coverage=report(
            paths.coverage,
            caption="../report/coverage.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "table": "gene coverage per set"},
        ),
    log:
        paths.log("score"),
    benchmark:
        paths.benchmark("score")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=cost("score"),
        runtime=minutes("score"),
    params:
        score=seeded("score"),
    script:
        "../scripts/score.py"
