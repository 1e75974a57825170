rule annotate:
    input:
        h5ad=paths.clustered,
        markers=paths.markers_yaml,
        celltypist=[paths.celltypist_model] if paths.celltypist_model else [],
    output:
        cells=paths.annotation,
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
    conda:
        ENV
    resources:
        mem_mb=mem_for(60),
    params:
        annotate=config["annotate"],
        row=dataset_row,
    script:
        "../scripts/annotate.py"
