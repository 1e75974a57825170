# The findings page of each dataset (first in the report), and, with two or more datasets,
# the datasets side by side in results/summary/ (rule all asks for it only then).
ruleorder: cross_dataset > summary


rule summary:
    input:
        ingest_summary=paths.ingest_summary,
        qc_summary=paths.qc_summary,
        coverage=paths.coverage,
        flags=paths.flags,
        conditions=paths.conditions,
        composition=paths.composition,
        annotation=paths.annotation,
        scores=paths.scores,
        clustered=paths.clustered,
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        html=report(
            paths.summary_html,
            caption="../report/summary.rst",
            category="0. Findings",
            labels={"dataset": "{dataset}", "page": "findings"},
        ),
        md=paths.summary_md,
        patients=report(
            paths.patients,
            caption="../report/summary_patients.rst",
            category="0. Findings",
            labels={"dataset": "{dataset}", "page": "per-patient z-scores (table)"},
        ),
        heatmap_dir=report(
            directory(paths.patients_figures),
            patterns=["{name}.png"],
            caption="../report/summary_patients_heatmap.rst",
            category="0. Findings",
            labels={"dataset": "{dataset}", "page": "per-patient z-scores (heatmap)"},
        ),
    log:
        paths.log("summary"),
    benchmark:
        paths.benchmark("summary")
    conda:
        ENV
    resources:
        mem_mb=cost("summary"),
        runtime=minutes("summary"),
    params:
        flag=config["flag"],
        conditions=config["conditions"],
    script:
        "../scripts/summary.py"


rule cross_dataset:
    input:
        flags=expand(paths.flags, dataset=paths.datasets),
        conditions=expand(paths.conditions, dataset=paths.datasets),
        coverage=expand(paths.coverage, dataset=paths.datasets),
        summaries=expand(paths.summary_html, dataset=paths.datasets),
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        table=report(
            paths.cross_table,
            caption="../report/summary_cross_table.rst",
            category="0. Findings",
            labels={"dataset": "all datasets", "page": "flags by dataset (table)"},
        ),
        heatmap=report(
            paths.cross_heatmap,
            caption="../report/summary_cross_heatmap.rst",
            category="0. Findings",
            labels={"dataset": "all datasets", "page": "flags by dataset (heatmap)"},
        ),
        html=report(
            paths.cross_html,
            caption="../report/summary_cross.rst",
            category="0. Findings",
            labels={"dataset": "all datasets", "page": "findings across datasets"},
        ),
    log:
        paths.cross_log,
    benchmark:
        paths.cross_benchmark
    conda:
        ENV
    resources:
        mem_mb=cost("cross_dataset"),
        runtime=minutes("cross_dataset"),
    params:
        datasets=list(paths.datasets),
        flag=config["flag"],
    script:
        "../scripts/cross_dataset.py"
