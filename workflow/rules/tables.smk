# The report's tables as sortable HTML pages (tmesig.tables): one per tmesig.tables.SPECS.
# Inputs: each page's source table; the subset tables only when the subset stage runs.
from tmesig.tables import SPECS


rule tables:
    input:
        **{
            s.source: getattr(paths, s.source)
            for s in SPECS.values()
            if paths.subsets
            or s.source not in ("annotation_subsets", "annotation_subclusters")
        },
    output:
        **{
            name: report(
                getattr(paths, f"table_{name}"),
                caption="../report/table_page.rst",
                category=spec.category,
                labels={"dataset": "{dataset}", "table": f"{spec.title} (sortable)"},
            )
            for name, spec in SPECS.items()
        },
    log:
        paths.log("tables"),
    benchmark:
        paths.benchmark("tables")
    conda:
        ENV
    resources:
        mem_mb=cost("tables"),
        runtime=minutes("tables"),
    params:
        max_rows=1000,
    script:
        "../scripts/tables.py"
