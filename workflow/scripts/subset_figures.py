import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import subset_figures

runner.run_stage(subset_figures.run, snakemake)
