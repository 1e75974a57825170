rule conditions:
    input:
        scores=paths.scores,
        annotation=paths.annotation,
        clustered=paths.clustered,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        conditions=report(
            paths.conditions,
            caption="../report/conditions.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "table": "condition comparison"},
        ),
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
        paths.log("conditions"),
    benchmark:
        paths.benchmark("conditions")
    conda:
        ENV
    resources:
        mem_mb=mem_for(20),
    params:
        conditions=config["conditions"],
    script:
        "../scripts/conditions.py"
