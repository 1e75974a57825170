"""Glue for ``workflow/scripts``: logging to the rule's log file, one stage call, clear failures."""

import json
import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .io.errors import InputError
from .stages import StageIO

__all__ = ["InputError", "run", "run_stage", "write_json"]

logger = logging.getLogger("tmesig")


def _setup_logging(log_path: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    warnings.filterwarnings("default")


def run(main: Callable[[], Any], *, log_path: str | None) -> None:
    """Run ``main`` with logging to ``log_path``; only an :class:`InputError` ends it in one line.

    An :class:`InputError` (bad dataset, sheet or config: its message names the file, the
    problem and the fix) is logged in one line and the process exits with status 1, so
    Snakemake removes the job's outputs. Any other exception is a fault of tmesig or a
    library: it is logged with its traceback and re-raised.

    Parameters
    ----------
    main
        The work; its return value, when not empty, is logged as a one-line summary.
    log_path
        Log file (also written to stderr); ``None`` logs to stderr only.
    """
    _setup_logging(log_path)
    try:
        summary = main()
    except InputError as err:
        logger.error("tmesig input error: %s", err)
        sys.exit(1)
    except Exception:
        logger.exception("tmesig failed with an unexpected error (please report it)")
        raise
    if summary:
        logger.info("%s", summary)


def run_stage(stage: Callable[[StageIO], Any], smk: Any) -> None:
    """Run one stage function with the ``snakemake`` object of a ``script:`` rule.

    Parameters
    ----------
    stage
        A ``tmesig.stages.<stage>.run``: takes a :class:`~tmesig.stages.StageIO`, returns a
        one-line summary or ``None``.
    smk
        The ``snakemake`` object; its named input, output, params and wildcards become the
        stage's :class:`~tmesig.stages.StageIO`, its first log file the log (see :func:`run`).
    """
    log = smk.log[0] if len(smk.log) else None
    run(lambda: stage(StageIO.from_snakemake(smk)), log_path=log)


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented, key-sorted JSON (stable across runs).

    Parameters
    ----------
    obj
        JSON-serialisable data; other values (paths...) are written as ``str``.
    path
        The file to write.
    """
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
