import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import cnv

runner.run_stage(cnv.run, snakemake)
