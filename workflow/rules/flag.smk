rule flag:
    input:
        scores="results/{dataset}/scores.parquet",
        annotation="results/{dataset}/annotation.tsv",
        clustered="results/{dataset}/clustered.h5ad",
        sets=SIGNATURE_FILES,
    output:
        compartments=report(
            "results/{dataset}/compartments.tsv",
            caption="../report/compartments.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "table": "compartment x sample means"},
        ),
        flags=report(
            "results/{dataset}/flags.tsv",
            caption="../report/flags.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "table": "flags"},
        ),
    log:
        "logs/{dataset}/flag.log",
    benchmark:
        "logs/{dataset}/flag.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(20),
    params:
        flag=config["flag"],
        score=config["score"],
    script:
        "../scripts/flag.py"
