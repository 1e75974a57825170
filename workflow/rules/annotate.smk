rule annotate:
    input:
        h5ad=paths.clustered,
        markers=paths.markers_yaml,
        celltypist=[paths.celltypist_model] if paths.celltypist_model else [],
    output:
        cells=paths.annotation_lineages,
        clusters=report(
            paths.annotation_clusters,
            caption="../report/annotation_clusters.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "cluster calls"},
        ),
        agreement=report(
            paths.label_agreement,
            caption="../report/label_agreement.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "agreement with author labels"},
        ),
        celltypist=report(
            paths.celltypist_agreement,
            caption="../report/celltypist_agreement.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "agreement with CellTypist"},
        ),
        markers_found=report(
            paths.annotation_markers,
            caption="../report/annotation_markers.rst",
            category="2. Compartments",
            labels={"dataset": "{dataset}", "table": "markers found per lineage"},
        ),
    log:
        paths.log("annotate"),
    benchmark:
        paths.benchmark("annotate")
    priority: 5  # on the critical path: before umap and scoring, which start with it
    conda:
        ENV
    resources:
        mem_mb=cost("annotate"),
        runtime=minutes("annotate"),
    params:
        annotate=config["annotate"],
        row=dataset_row,
    script:
        "../scripts/annotate.py"


# The final per-cell tables: the subset calls joined with the copy-number calls, and lineage
# calls + the cell state.
rule states:
    input:
        lineages=paths.annotation_lineages,
        subsets=[paths.subset_calls] if paths.subsets else [],
        cnv=[paths.cnv_calls] if paths.subsets else [],
        markers=paths.subset_markers_yaml,
    output:
        **({"subsets": paths.annotation_subsets} if paths.subsets else {}),
        cells=paths.annotation,
    log:
        paths.log("states"),
    benchmark:
        paths.benchmark("states")
    localrule: True
    conda:
        ENV
    script:
        "../scripts/states.py"
