import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner, signatures


def main():
    sets = signatures.load_library(snakemake.input.sets)
    signatures.write_gmt(sets, snakemake.output.gmt)
    signatures.library_table(sets).to_csv(snakemake.output.table, sep="\t", index=False)
    runner.logger.info("%d gene sets exported", len(sets))


runner.run(main, log_path=snakemake.log[0])
