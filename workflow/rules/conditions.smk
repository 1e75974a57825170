rule conditions:
    input:
        scores=paths.scores,
        annotation=paths.annotation,
        clustered=paths.clustered,
        coverage=paths.coverage,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        conditions=report(
            paths.conditions,
            caption="../report/conditions.rst",
            category="5. Conditions and composition",
            labels={"dataset": "{dataset}", "table": "condition comparison"},
        ),
    log:
        paths.log("conditions"),
    benchmark:
        paths.benchmark("conditions")
    conda:
        ENV
    resources:
        mem_mb=cost("conditions"),
        runtime=minutes("conditions"),
    params:
        conditions=config["conditions"],
    script:
        "../scripts/conditions.py"
