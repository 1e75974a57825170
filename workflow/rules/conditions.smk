rule conditions:
    input:
        scores="results/{dataset}/scores.parquet",
        annotation="results/{dataset}/annotation.tsv",
        clustered="results/{dataset}/clustered.h5ad",
        sets=SIGNATURE_FILES,
    output:
        conditions=report(
            "results/{dataset}/conditions.tsv",
            caption="../report/conditions.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "table": "condition comparison"},
        ),
        composition=report(
            "results/{dataset}/composition.tsv",
            caption="../report/composition.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "table": "composition test"},
        ),
        composition_by_patient="results/{dataset}/composition_by_patient.tsv",
        forest=report(
            "results/{dataset}/report/forest_conditions.png",
            caption="../report/forest_conditions.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "figure": "condition effects"},
        ),
        composition_plot=report(
            "results/{dataset}/report/composition_by_patient.png",
            caption="../report/composition_by_patient.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "figure": "composition by patient"},
        ),
    log:
        "logs/{dataset}/conditions.log",
    benchmark:
        "logs/{dataset}/conditions.benchmark.tsv"
    conda:
        ENV
    resources:
        mem_mb=mem_for(20),
    params:
        conditions=config["conditions"],
    script:
        "../scripts/conditions.py"
