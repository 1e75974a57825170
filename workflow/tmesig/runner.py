"""Glue for ``workflow/scripts``: logging to the rule's log file and clear failures."""

import json
import logging
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ingest import InputError

__all__ = ["InputError", "run", "write_json"]

logger = logging.getLogger("tmesig")


def run(main: Callable[[], None], *, log_path: str | None) -> None:
    """Run ``main`` with logging to ``log_path``; an :class:`InputError` or ``ValueError`` ends the job cleanly.

    The error's message (which names the file, the problem and the fix) is written to the log
    and to standard error, and the process exits with status 1 so Snakemake removes the
    job's outputs.
    """
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
    try:
        main()
    except InputError as err:
        logger.error("tmesig input error: %s", err)
        sys.exit(1)
    except ValueError as err:
        # the stages raise ValueError with a message naming the problem and the fix
        logger.error("tmesig error: %s", err)
        sys.exit(1)


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented, key-sorted JSON (stable across runs)."""
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
