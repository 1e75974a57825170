import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import cross_dataset

runner.run_stage(cross_dataset.run, snakemake)
