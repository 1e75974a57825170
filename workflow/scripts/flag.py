import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad  # noqa: E402
import pandas as pd  # noqa: E402

from tmesig import flag, runner, signatures  # noqa: E402


def main():
    p = snakemake.params.flag
    sets = signatures.load_library(snakemake.input.sets)
    scores = pd.read_parquet(snakemake.input.scores)
    ann = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)
    obs = ad.read_h5ad(snakemake.input.clustered, backed="r").obs
    unit = obs[p["unit"]].astype(str)
    table = flag.compartment_summary(scores, compartment=ann["compartment"], unit=unit)
    table.to_csv(snakemake.output.compartments, sep="\t", index=False, float_format="%.6g")
    flags = flag.flag_compartments(
        scores,
        sets,
        compartment=ann["compartment"],
        unit=unit,
        min_cells=p["min_cells"],
        min_samples=p["min_samples"],
        alpha=p["alpha"],
        min_effect=p["min_effect"],
    )
    flags.to_csv(snakemake.output.flags, sep="\t", index=False, float_format="%.6g")
    runner.logger.info("%d of %d compartment x set tests flagged", int(flags["flagged"].sum()), len(flags))


runner.run(main, log_path=snakemake.log[0])
