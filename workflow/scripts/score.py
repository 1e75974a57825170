import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad  # noqa: E402

from tmesig import runner, score, signatures  # noqa: E402


def main():
    p = snakemake.params.score
    sets = signatures.load_library(snakemake.input.sets)
    adata = ad.read_h5ad(snakemake.input.h5ad)
    scores, coverage = score.score_cells(
        adata,
        sets,
        min_coverage=p["min_coverage"],
        ctrl_size=p["ctrl_size"],
        n_bins=p["n_bins"],
        seed=p["seed"],
    )
    skipped = coverage.loc[~coverage["scored"], "set"].tolist()
    runner.logger.info("scored %d sets; not scored (low coverage): %s", scores.shape[1], skipped)
    scores.to_parquet(snakemake.output.scores)
    coverage.to_csv(snakemake.output.coverage, sep="\t", index=False)


runner.run(main, log_path=snakemake.log[0])
