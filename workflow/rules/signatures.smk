rule signatures:
    input:
        sets=SIGNATURE_FILES,
    output:
        gmt="results/signatures/tmesig.gmt",
        table=report(
            "results/signatures/library.tsv",
            caption="../report/library.rst",
            category="3. Signatures",
            labels={"table": "signature library"},
        ),
    log:
        "logs/signatures.log",
    benchmark:
        "logs/signatures.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=1000,
    script:
        "../scripts/signatures.py"
