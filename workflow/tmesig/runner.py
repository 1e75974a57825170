"""Glue for ``workflow/scripts``: a quiet terminal, a full log file, one stage call, clear failures.

With a log file, everything a stage and its libraries print (logging, warnings, tqdm
progress bars, C-level messages on file descriptors 1 and 2) goes to the rule's log file;
the terminal gets one line per stage: its summary, or the reason it failed.
"""

import contextlib
import errno
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .io.errors import InputError
from .stages import StageIO

__all__ = [
    "InputError",
    "disk_full_message",
    "finished_lines",
    "run",
    "run_stage",
    "stage_threads",
    "write_json",
]

logger = logging.getLogger("tmesig")

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NO_SPACE = "No space left on device"
#: Longest summary line on the terminal (the log has it in full).
_MAX_LINE = 300


def _setup_logging(stream: TextIO | None, log_path: str | None) -> None:
    """INFO and above to the log file (or to ``stream`` when there is none)."""
    if log_path:
        handler: logging.Handler = logging.FileHandler(log_path, mode="a")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    logging.basicConfig(level=logging.INFO, format=_FORMAT, handlers=[handler], force=True)
    logging.captureWarnings(True)
    warnings.filterwarnings("default")


@contextlib.contextmanager
def _to_log(log_path: str | None) -> Iterator[None]:
    """Send file descriptors 1 and 2 (and ``sys.stdout`` / ``sys.stderr``) to ``log_path``."""
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    Path(log_path).write_text("")  # the log is rewritten on every run
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    py_streams = (sys.stdout, sys.stderr)
    with open(log_path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        try:
            yield
        finally:
            log.flush()
            sys.stdout, sys.stderr = py_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def disk_full_message(err: BaseException, *, outputs: Sequence[str] = ()) -> str | None:
    """One line for an exception caused by a full disk (``ENOSPC``), else ``None``.

    h5py, pyarrow and matplotlib wrap the operating system's error in their own; the
    exception chain and the message are searched for ``ENOSPC`` / "No space left on device".

    Parameters
    ----------
    err
        The exception a stage raised.
    outputs
        The stage's output files: named when the error does not say which file it was.

    Returns
    -------
    str or None
        ``"disk full while writing <path>: free space or point results elsewhere"``.
    """
    for e in _chain(err):
        if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or _NO_SPACE in str(e):
            name = getattr(e, "filename", None) or ", ".join(str(o) for o in outputs) or "?"
            return (
                f"disk full while writing {name}: free space or point results elsewhere "
                "(run snakemake from a working directory on a larger disk)"
            )
    return None


def _say(stream: TextIO, label: str, text: str) -> None:
    """One terminal line: ``tmesig <label>: <text>``."""
    stream.write(f"tmesig {label}: {text}\n" if label else f"tmesig: {text}\n")
    stream.flush()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(err: BaseException, limit: int = 200) -> str:
    return _shorten((str(err).strip().splitlines() or [""])[0], limit)


def run(
    main: Callable[[], Any],
    *,
    log_path: str | None,
    label: str = "",
    outputs: Sequence[str] = (),
) -> None:
    """Run ``main`` with its output in ``log_path`` and one line on the terminal.

    An :class:`InputError` (bad dataset, sheet or config: its message names the file, the
    problem and the fix) and a full disk end the process with status 1 and one line, so
    Snakemake removes the job's outputs. Any other exception is a fault of tmesig or a
    library: it is logged with its traceback, one line points to the log, and it is
    re-raised.

    Parameters
    ----------
    main
        The work; its return value, when not empty, is the stage's one-line summary.
    log_path
        Log file: receives logging, warnings, progress bars and anything printed. ``None``
        logs to stderr (a notebook).
    label
        Names the stage on the terminal line (e.g. ``"qc [demo]"``).
    outputs
        The stage's output files, named when the disk is full.
    """
    terminal = sys.stderr
    failure: BaseException | None = None
    line = ""
    with _to_log(log_path):
        _setup_logging(terminal, log_path)
        try:
            summary = main()
        except InputError as err:
            logger.error("tmesig input error: %s", err)
            failure, line = err, f"input error: {err}"
        except Exception as err:  # classified here, re-raised below
            failure = err
            line = disk_full_message(err, outputs=outputs) or ""
            if line:
                logger.error("%s", line, exc_info=True)
            else:
                logger.exception("tmesig failed with an unexpected error (please report it)")
        else:
            if summary:
                logger.info("%s", summary)  # in full in the log; at most 300 characters below
                prefix = f"tmesig {label}: " if label else "tmesig: "
                line = _shorten(str(summary), _MAX_LINE - len(prefix))
        finally:
            for h in logging.getLogger().handlers:
                h.flush()
    if log_path and line:
        _say(terminal, label, line)
    if failure is None:
        return
    if line:  # an input error or a full disk: the line says it all
        sys.exit(1)
    if log_path:
        kind = type(failure).__name__
        _say(terminal, label, f"failed: {kind}: {_first_line(failure)} (traceback in {log_path})")
    raise failure


@contextlib.contextmanager
def stage_threads(n: int) -> Iterator[None]:
    """Hold BLAS/OpenMP pools (threadpoolctl) and numba to ``n`` threads inside the block.

    A rule's ``threads:`` is what Snakemake (or SLURM) gave the job; without a limit, BLAS
    and numba would start one thread per core of the node and compete with other jobs.

    Parameters
    ----------
    n
        Threads the stage may use (at least 1).
    """
    import numba
    from threadpoolctl import threadpool_limits

    n = max(1, int(n))
    saved = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        numba.set_num_threads(saved)


def run_stage(stage: Callable[[StageIO], Any], smk: Any) -> None:
    """Run one stage function with the ``snakemake`` object of a ``script:`` rule.

    The terminal gets one line (``tmesig <rule> [<dataset>]: <summary>``); an unexpected
    error ends the job with status 1 and its traceback in the log.

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
    io = StageIO.from_snakemake(smk)
    dataset = io.wildcards.get("dataset")
    label = f"{smk.rule} [{dataset}]" if dataset else str(smk.rule)
    outputs = [str(o) for o in smk.output]
    try:
        with stage_threads(io.threads):
            run(lambda: stage(io), log_path=log, label=label, outputs=outputs)
    except Exception:
        if log is None:
            raise
        sys.exit(1)  # the traceback is in the log, and the terminal has one line


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


def _flag_count(flags: Path) -> str:
    """``"<flagged> of <tests> compartment x set tests flagged"`` from a ``flags.tsv``."""
    try:
        with flags.open() as fh:
            header = fh.readline().rstrip("\n").split("\t")
            col = header.index("flagged")
            values = [line.rstrip("\n").split("\t")[col] for line in fh if line.strip()]
    except (OSError, ValueError, IndexError):
        return "flags not found"
    return f"{sum(v == 'True' for v in values)} of {len(values)} compartment x set tests flagged"


def finished_lines(paths: Any, *, report: str = "results/report.html") -> list[str]:
    """What to open after a successful run: the report command, then per dataset the flags,
    the findings summary (when made) and the tables.

    Parameters
    ----------
    paths
        The run's :class:`~tmesig.workflow_paths.WorkflowPaths`.
    report
        The report file named in the command.

    Returns
    -------
    list of str
        Short lines (under 300 characters each) for the end of the terminal output.
    """
    lines = [f"tmesig done. Report: snakemake --report {report}"]
    for ds in paths.datasets:
        flags = Path(paths.flags.format(dataset=ds))
        summary = flags.parent / "summary.html"
        parts = [f"{_flag_count(flags)} ({flags})"]
        if summary.exists():
            parts.append(f"findings: {summary}")
        parts.append(f"tables: {Path(paths.table_flags.format(dataset=ds)).parent}/")
        lines.append(f"  {ds}: " + "; ".join(parts))
    return lines
