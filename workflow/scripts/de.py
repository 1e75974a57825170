import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import de

runner.run_stage(de.run, snakemake)
