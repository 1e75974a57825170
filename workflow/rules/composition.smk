rule composition:
    input:
        annotation=paths.annotation,
        clustered=paths.clustered,
        subset_markers=paths.subset_markers_yaml,
    output:
        composition=report(
            paths.composition,
            caption="../report/composition.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "table": "composition test"},
        ),
        composition_by_patient=paths.composition_by_patient,
        composition_plot=report(
            paths.composition_plot,
            caption="../report/composition_by_patient.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "figure": "composition by patient"},
        ),
    log:
        paths.log("composition"),
    benchmark:
        paths.benchmark("composition")
    conda:
        ENV
    resources:
        mem_mb=cost("composition"),
        runtime=minutes("composition"),
    params:
        conditions=config["conditions"],
    script:
        "../scripts/composition.py"
