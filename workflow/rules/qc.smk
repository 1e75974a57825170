# QC. Checkpoint qc_plan decides from the ingested cells: below scatter.min_cells (or when the
# input mode screens no doublets) rule qc screens doublets itself; from it on, qc_doublets jobs
# (a cluster runs them in parallel) screen the samples' parts and rule qc joins them (the same
# tables).
from tmesig.qc import gather_inputs as qc_inputs


checkpoint qc_plan:
    input:
        h5ad=paths.ingested,
    output:
        plan=paths.qc_plan,
    log:
        paths.log("qc_plan"),
    benchmark:
        paths.benchmark("qc_plan")
    localrule: True
    conda:
        ENV
    params:
        qc=seeded("qc"),
        ingest=config["ingest"],
        scatter=config["scatter"],
    script:
        "../scripts/qc_plan.py"


rule qc_doublets:
    input:
        h5ad=paths.ingested,
        plan=paths.qc_plan,
    output:
        doublets=temp(paths.qc_doublets),
    log:
        paths.log("qc_doublets_{job}"),
    benchmark:
        paths.benchmark("qc_doublets_{job}")
    wildcard_constraints:
        job=r"\d+",
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=cost("qc_doublets", per="job"),
        runtime=minutes("qc_doublets", per="job"),
    params:
        qc=seeded("qc"),
        ingest=config["ingest"],
    script:
        "../scripts/qc_doublets.py"


rule qc:
    input:
        # ingested.h5ad, and (scattered) the plan and its jobs' tables (tmesig.qc.gather_inputs)
        unpack(
            lambda w: qc_inputs(
                checkpoints.qc_plan.get(dataset=w.dataset).output.plan,
                paths=paths,
                dataset=w.dataset,
            )
        ),
    output:
        metrics=paths.qc_metrics,
        summary=report(
            paths.qc_summary,
            caption="../report/qc_summary.rst",
            category="1. Quality control",
            labels={"dataset": "{dataset}", "table": "QC summary per sample"},
        ),
    log:
        paths.log("qc"),
    benchmark:
        paths.benchmark("qc")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=cost("qc"),
        runtime=minutes("qc"),
    params:
        qc=seeded("qc"),
        ingest=config["ingest"],
    script:
        "../scripts/qc.py"
