import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
from tmesig import runner, score, signatures


def main():
    p = snakemake.params.score
    sets = signatures.load_library(snakemake.input.sets)
    # backed: the matrix is read in chunks, never whole (mean_diff and rank)
    backed = "r" if p["method"] != "scanpy" else None
    adata = ad.read_h5ad(snakemake.input.h5ad, backed=backed)
    scores, coverage = score.score_cells(
        adata,
        sets,
        method=p["method"],
        min_coverage=p["min_coverage"],
        ctrl_size=p["ctrl_size"],
        n_bins=p["n_bins"],
        seed=p["seed"],
        max_rank=p["max_rank"],
    )
    params = {
        k: p[k] for k in ("method", "ctrl_size", "n_bins", "seed", "max_rank", "min_coverage")
    }
    coverage["method"] = ";".join(f"{k}={v}" for k, v in params.items())
    skipped = coverage.loc[~coverage["scored"], "set"].tolist()
    runner.logger.info("scored %d sets with %s; not scored: %s", scores.shape[1], params, skipped)
    scores.attrs = {}
    scores.to_parquet(snakemake.output.scores)
    coverage.to_csv(snakemake.output.coverage, sep="\t", index=False)


runner.run(main, log_path=snakemake.log[0])
