rule figures:
    input:
        clustered="results/{dataset}/clustered.h5ad",
        annotation="results/{dataset}/annotation.tsv",
        scores="results/{dataset}/scores.parquet",
        flags="results/{dataset}/flags.tsv",
        compartments="results/{dataset}/compartments.tsv",
        qc_metrics="results/{dataset}/qc_metrics.tsv",
        sets=SIGNATURE_FILES,
    output:
        umap_compartment=report(
            "results/{dataset}/report/umap_compartment.png",
            caption="../report/umap_compartment.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "figure": "UMAP by compartment"},
        ),
        umap_scores=report(
            "results/{dataset}/report/umap_scores.png",
            caption="../report/umap_scores.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "figure": "UMAP by key scores"},
        ),
        dotplot=report(
            "results/{dataset}/report/dotplot_card_genes.png",
            caption="../report/dotplot_card_genes.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "figure": "card genes by compartment"},
        ),
        heatmap=report(
            "results/{dataset}/report/heatmap_compartment_sets.png",
            caption="../report/heatmap_compartment_sets.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "figure": "compartment x set heatmap"},
        ),
        qc_violin=report(
            "results/{dataset}/report/qc_violin.png",
            caption="../report/qc_violin.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "figure": "QC metrics per sample"},
        ),
    log:
        "logs/{dataset}/figures.log",
    benchmark:
        "logs/{dataset}/figures.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(60),
    params:
        card_genes=config["report"]["card_genes"],
    script:
        "../scripts/figures.py"
