# Scoring. Small datasets: rule score reads clustered.h5ad and scores every cell. Datasets of
# scatter.min_cells or more (checkpoint score_plan decides, from the QC-kept cells): score_stats
# computes the dataset-wide gene statistics once, score_chunk scores each block of cells (jobs
# a cluster runs in parallel), and rule score joins the blocks into the same two files.
from tmesig.score import gather_inputs


checkpoint score_plan:
    input:
        h5ad=paths.clustered,
    output:
        plan=paths.score_plan,
    log:
        paths.log("score_plan"),
    benchmark:
        paths.benchmark("score_plan")
    localrule: True
    conda:
        ENV
    params:
        scatter=config["scatter"],
        method=config["score"]["method"],
    script:
        "../scripts/score_plan.py"


rule score_stats:
    input:
        h5ad=paths.clustered,
        sets=paths.signatures_dir,
        library=paths.library_table,
    output:
        stats=temp(paths.score_stats),
        coverage=temp(paths.score_coverage),
    log:
        paths.log("score_stats"),
    benchmark:
        paths.benchmark("score_stats")
    conda:
        ENV
    resources:
        mem_mb=cost("score_stats"),
        runtime=minutes("score_stats"),
    params:
        score=seeded("score"),
    script:
        "../scripts/score_stats.py"


rule score_chunk:
    input:
        h5ad=paths.clustered,
        plan=paths.score_plan,
        stats=paths.score_stats,
        sets=paths.signatures_dir,
        library=paths.library_table,
    output:
        scores=temp(paths.score_chunk),
    log:
        paths.log("score_chunk_{chunk}"),
    benchmark:
        paths.benchmark("score_chunk_{chunk}")
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        ENV
    resources:
        mem_mb=cost("score_chunk", per="chunk"),
        runtime=minutes("score_chunk", per="chunk"),
    params:
        score=seeded("score"),
    script:
        "../scripts/score_chunk.py"


rule score:
    input:
        # clustered.h5ad, or (scattered) the plan's blocks (tmesig.score.gather_inputs)
        unpack(
            lambda w: gather_inputs(
                checkpoints.score_plan.get(dataset=w.dataset).output.plan,
                paths=paths,
                dataset=w.dataset,
            )
        ),
        sets=paths.signatures_dir,  # the stage loads the library from here
        library=paths.library_table,  # reruns when a set file changes
    output:
        scores=paths.scores,
        coverage=report(
            paths.coverage,
            caption="../report/coverage.rst",
            category="3. Signatures",
            labels={"dataset": "{dataset}", "table": "gene coverage per set"},
        ),
    log:
        paths.log("score"),
    benchmark:
        paths.benchmark("score")
    priority: 1  # before umap: flag and conditions wait for the scores, nothing for the UMAP
    conda:
        ENV
    threads: 1  # mostly one core (mean load < 1 core at 100,000 cells): runs beside subsets
    resources:
        mem_mb=cost("score"),
        runtime=minutes("score"),
    params:
        score=seeded("score"),
    script:
        "../scripts/score.py"
