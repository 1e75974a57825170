rule annotate:
    input:
        h5ad="results/{dataset}/clustered.h5ad",
        markers=MARKERS,
        celltypist=[CELLTYPIST_MODEL] if CELLTYPIST_MODEL else [],
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
        celltypist=report(
            "results/{dataset}/celltypist_agreement.tsv",
            caption="../report/celltypist_agreement.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "agreement with CellTypist"},
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
