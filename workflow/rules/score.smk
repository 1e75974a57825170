rule score:
    input:
        h5ad=paths.clustered,
        sets=paths.signature_files,
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
    resources:
        mem_mb=mem_for(80),
    params:
        score=seeded("score"),
    script:
        "../scripts/score.py"
