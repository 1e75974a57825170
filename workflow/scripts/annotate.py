import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad  # noqa: E402

from tmesig import annotate, runner  # noqa: E402


def main():
    p = snakemake.params.annotate
    markers = annotate.load_markers(snakemake.input.markers)
    adata = ad.read_h5ad(snakemake.input.h5ad)
    cells, clusters = annotate.annotate(
        adata,
        markers,
        cluster_key="leiden",
        min_confidence=p["min_confidence"],
        min_margin=p["min_margin"],
        min_score=p["min_score"],
    )
    cells.index.name = "cell"
    cells.to_csv(snakemake.output.cells, sep="\t", float_format="%.6g")
    clusters.to_csv(snakemake.output.clusters, sep="\t", index=False, float_format="%.6g")
    runner.logger.info("compartments: %s", cells["compartment"].value_counts().to_dict())


runner.run(main, log_path=snakemake.log[0])
