rule annotate:
    input:
        h5ad="results/{dataset}/clustered.h5ad",
        markers=MARKERS,
    output:
        cells="results/{dataset}/annotation.tsv",
        clusters=report(
            "results/{dataset}/annotation_clusters.tsv",
            caption="../report/annotation_clusters.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "cluster calls"},
        ),
        agreement=report(
            "results/{dataset}/label_agreement.tsv",
            caption="../report/label_agreement.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "agreement with author labels"},
        ),
    log:
        "logs/{dataset}/annotate.log",
    benchmark:
        "logs/{dataset}/annotate.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(60),
    params:
        annotate=config["annotate"],
        row=dataset_row,
    script:
        "../scripts/annotate.py"
