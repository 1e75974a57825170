"""One function per pipeline stage: ``tmesig.stages.<stage>.run(io)``.

Each ``workflow/scripts/<stage>.py`` hands its ``snakemake`` object to
:func:`tmesig.runner.run_stage`, which builds a :class:`StageIO` and calls the stage's
``run``. A stage reads its named inputs, calls the package, writes its named outputs and
returns a one-line summary for the log (or ``None``). Every stage can be called from a
notebook with a hand-made :class:`StageIO`.
"""

from ._io import StageIO

__all__ = ["StageIO"]
