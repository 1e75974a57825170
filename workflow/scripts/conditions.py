import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import anndata as ad
import pandas as pd
from tmesig import composition, conditions, report, runner, signatures


def main():
    p = snakemake.params.conditions
    out = snakemake.output
    sets = signatures.load_library(snakemake.input.sets)
    scores = pd.read_parquet(snakemake.input.scores)
    comp = pd.read_csv(snakemake.input.annotation, sep="\t", index_col=0)["compartment"]
    obs = ad.read_h5ad(snakemake.input.clustered, backed="r").obs
    patient, condition = obs["patient"].astype(str), obs["condition"].astype(str)
    table = composition.composition_table(compartment=comp, patient=patient, condition=condition)
    table.to_csv(out.composition_by_patient, sep="\t", index=False, float_format="%.6g")
    report.composition_bars(table).savefig(out.composition_plot, dpi=120, bbox_inches="tight")
    try:
        contrast = conditions.resolve_contrast(
            condition.unique(), reference=p["reference"], test=p["test"]
        )
    except ValueError as err:
        raise runner.InputError(f"{snakemake.input.clustered}: {err}") from None
    if contrast is None:
        note = (
            "no condition to compare: name a condition column (condition_col) in the sample sheet"
        )
        res = pd.DataFrame({"note": [note]})
        comp_res = pd.DataFrame({"note": [note]})
    else:
        res = conditions.compare_conditions(
            scores,
            sets,
            compartment=comp,
            patient=patient,
            condition=condition,
            contrast=contrast,
            min_cells=p["min_cells"],
            min_patients=p["min_patients"],
            alpha=p["alpha"],
        )
        comp_res = composition.compare_composition(
            table, contrast=contrast, min_patients=p["min_patients"], alpha=p["alpha"]
        )
    res.to_csv(out.conditions, sep="\t", index=False, float_format="%.6g")
    comp_res.to_csv(out.composition, sep="\t", index=False, float_format="%.6g")
    report.forest_conditions(res).savefig(out.forest, dpi=120, bbox_inches="tight")
    runner.logger.info("condition comparison: %s", "none" if contrast is None else contrast)


runner.run(main, log_path=snakemake.log[0])
