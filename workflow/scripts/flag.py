import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import pandas as pd
from tmesig import flag, runner, score, signatures


def main():
    p = snakemake.params.flag
    sp = snakemake.params.score
    scores = pd.read_parquet(snakemake.input.scores)
    sets = [gs for gs in signatures.load_library(snakemake.input.sets) if gs.name in scores.columns]
    ann = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)
    adata = ad.read_h5ad(snakemake.input.clustered, backed="r")
    unit = adata.obs[p["unit"]].astype(str)
    comp = ann["compartment"].reindex(adata.obs_names).astype(str)
    table = flag.compartment_summary(scores, compartment=comp, unit=unit)
    table.to_csv(snakemake.output.compartments, sep="\t", index=False, float_format="%.6g")
    flags = flag.flag_compartments(
        scores,
        sets,
        compartment=comp,
        unit=unit,
        min_cells=p["min_cells"],
        min_samples=p["min_samples"],
        alpha=p["alpha"],
        min_effect=p["min_effect"],
    )
    groups = pd.DataFrame({"compartment": comp, "sample": unit}, index=adata.obs_names)
    nulls = score.null_group_means(
        adata,
        sets,
        groups=groups,
        n_null=p["n_null"],
        ctrl_size=sp["ctrl_size"],
        n_bins=sp["n_bins"],
        seed=sp["seed"],
    )
    calibration = flag.null_calibration(nulls, sets, min_cells=p["min_cells"])
    # the group means of every gene come from the same pass over the matrix as the nulls
    drivers = flag.driver_genes(nulls.profile, nulls.n_cells, sets, min_cells=p["min_cells"])
    flags = flag.calibrate_flags(
        flags, calibration, drivers, alpha=p["alpha"], min_effect=p["min_effect"]
    )
    flags.to_csv(snakemake.output.flags, sep="\t", index=False, float_format="%.6g")
    runner.logger.info(
        "%d of %d compartment x set tests flagged", int(flags["flagged"].sum()), len(flags)
    )


runner.run(main, log_path=snakemake.log[0])
