import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import ingest, runner


def main():
    url = snakemake.params.url
    digest = ingest.fetch_url(url, snakemake.output[0], sha256=snakemake.params.sha256)
    runner.logger.info("downloaded %s (sha256 %s)", url, digest)


runner.run(main, log_path=snakemake.log[0])
