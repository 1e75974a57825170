rule score:
    input:
        h5ad="results/{dataset}/clustered.h5ad",
        sets=SIGNATURE_FILES,
    output:
        scores="results/{dataset}/scores.parquet",
        coverage=report(
            "results/{dataset}/coverage.tsv",
            caption="../report/coverage.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "table": "gene coverage per set"},
        ),
    log:
        "logs/{dataset}/score.log",
    benchmark:
        "logs/{dataset}/score.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(80),
    params:
        score=config["score"],
    script:
        "../scripts/score.py"
