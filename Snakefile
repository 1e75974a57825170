# tmesig: immune-checkpoint-blockade resistance programs in tumour single-cell RNA-seq.
# Run:    snakemake --cores 2            (then: snakemake --report results/report.html)
# Config: config/config.yaml + config/samples.tsv, validated by workflow/schemas/.
import sys

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


sys.path.insert(0, f"{workflow.basedir}/workflow")
from tmesig import sheet
from tmesig.workflow_paths import WorkflowPaths

sheet.check_config(config, files=workflow.configfiles)
samples = sheet.read_sheet(config["samples"])
paths = WorkflowPaths.from_config(config, samples)


# The report opens on the findings of each dataset that has them (then the description).
report: paths.report_home(f"{workflow.basedir}/workflow/report/workflow.rst")


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/subsets.smk"
include: "workflow/rules/signatures.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/genes.smk"
include: "workflow/rules/flag.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/conditions.smk"
include: "workflow/rules/composition.smk"
include: "workflow/rules/enrichment.smk"
include: "workflow/rules/de.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/tables.smk"


# Cheap rules run where snakemake runs, never as cluster jobs (download: compute nodes
# often have no internet; rules states, score_plan and qc_plan are marked local in their own
# files).
# Local: under ~10 s at 100,000 cells and no matrix read (tables, plots, obs, scores only).
localrules:
    all,
    download,
    signatures,
    forest,
    composition,
    conditions,
    summary,
    tables,
    cross_dataset,


rule all:
    default_target: True
    input:
        paths.targets(),


onsuccess:
    from tmesig.runner import finished_lines

    print("\n".join(finished_lines(paths)))
