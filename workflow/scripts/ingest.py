import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import ingest, runner  # noqa: E402


def main():
    row = snakemake.params.row
    ingest.verify_sha256(snakemake.input.data, expected=row.get("sha256", ""))
    adata, summary = ingest.ingest(
        snakemake.input.data,
        dataset=snakemake.wildcards.dataset,
        sample_col=row.get("sample_col") or None,
        patient_col=row.get("patient_col") or None,
        condition_col=row.get("condition_col") or None,
        matrix_source=snakemake.params.matrix_source,
    )
    runner.logger.info("ingested %d cells x %d genes", adata.n_obs, adata.n_vars)
    adata.write_h5ad(snakemake.output.h5ad, compression="lzf")
    runner.write_json(summary, snakemake.output.summary)


runner.run(main, log_path=snakemake.log[0])
