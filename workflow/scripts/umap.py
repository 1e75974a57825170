import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import umap

runner.run_stage(umap.run, snakemake)
