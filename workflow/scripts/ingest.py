import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import ingest, runner, signatures


def main():
    row = snakemake.params.row
    p = snakemake.params.ingest
    data = snakemake.input.data
    files = [data] if isinstance(data, str) else list(data)
    shas = [s.strip() for s in row.get("sha256", "").split(",") if s.strip()]
    for i, f in enumerate(files):
        ingest.verify_sha256(f, expected=shas[i] if i < len(shas) else "")
    genes = {
        g for gs in signatures.load_library(snakemake.params.signature_files) for g in gs.genes
    }
    adata, summary = ingest.ingest(
        files,
        dataset=snakemake.wildcards.dataset,
        sample_col=row.get("sample_col") or None,
        patient_col=row.get("patient_col") or None,
        condition_col=row.get("condition_col") or None,
        matrix_source=p["matrix_source"],
        allow_non_counts=p["allow_non_counts"],
        uppercase_mouse=p["uppercase_mouse"],
        min_cells=p["min_cells"],
        signature_genes=genes,
    )
    runner.logger.info(
        "ingested %d cells x %d genes (%s from %s); %d aliases renamed",
        adata.n_obs,
        adata.n_vars,
        summary["matrix"].get("state", "per file"),
        summary["matrix"].get("source", "per file"),
        len(summary["aliases_renamed"]),
    )
    adata.write_h5ad(snakemake.output.h5ad, compression="lzf")
    runner.write_json(summary, snakemake.output.summary)


runner.run(main, log_path=snakemake.log[0])
