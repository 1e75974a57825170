rule flag:
    input:
        scores=paths.scores,
        annotation=paths.annotation,
        coverage=paths.coverage,
        clustered=paths.clustered,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        compartments=report(
            paths.compartments,
            caption="../report/compartments.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "table": "compartment x sample means"},
        ),
        flags=report(
            paths.flags,
            caption="../report/flags.rst",
            category="4. Flags",
            labels={"dataset": "{dataset}", "table": "flags"},
        ),
    log:
        paths.log("flag"),
    benchmark:
        paths.benchmark("flag")
    priority: 2  # second longest after states (88 s at 100,000 cells)
    conda:
        ENV
    threads: 1  # mostly one core: runs beside de, enrichment, genes
    resources:
        mem_mb=cost("flag"),
        runtime=minutes("flag"),
    params:
        flag=config["flag"],
        score=seeded("score"),
    script:
        "../scripts/flag.py"
