import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from tmesig import runner
from tmesig.stages import score_stats

runner.run_stage(score_stats.run, snakemake)
