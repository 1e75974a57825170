"""tmesig.runner: an InputError ends the job in one line; anything else keeps its traceback;
everything a stage prints goes to its log, the terminal gets one line; run_stage hands a
stage the rule's named files and parameters."""

import errno
import json
import logging
import os
import warnings

import pytest
from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, Snakemake, Wildcards
from tmesig import runner
from tmesig.io import InputError
from tmesig.stages import StageIO


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            h.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def _fail(err):
    def main():
        raise err

    return main


def test_input_error_exits_1_with_one_line(tmp_path, capsys):
    log = tmp_path / "logs" / "qc.log"
    msg = "data.h5ad: every count is zero. Fix: check the export"
    with pytest.raises(SystemExit) as ex:
        runner.run(_fail(InputError(msg)), log_path=str(log))
    assert ex.value.code == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"ERROR tmesig: tmesig input error: {msg}")
    err = capsys.readouterr().err
    assert err == f"tmesig: input error: {msg}\n"


def test_runner_reexports_input_error():
    assert runner.InputError is InputError and issubclass(InputError, ValueError)


def test_library_value_error_keeps_its_traceback(tmp_path):
    log = tmp_path / "score.log"

    def main():
        import numpy as np

        np.zeros(3).reshape(2, 2)  # a ValueError raised inside a library

    with pytest.raises(ValueError, match="cannot reshape"):
        runner.run(main, log_path=str(log))
    text = log.read_text()
    assert "tmesig failed with an unexpected error (please report it)" in text
    assert "Traceback (most recent call last)" in text and "reshape" in text
    assert "tmesig input error" not in text


def test_summary_is_logged(tmp_path):
    log = tmp_path / "x.log"
    runner.run(lambda: "kept 3,986 of 4,000 cells", log_path=str(log))
    assert log.read_text().rstrip().endswith("INFO tmesig: kept 3,986 of 4,000 cells")
    runner.run(lambda: None, log_path=str(log))
    assert log.read_text() == ""  # the log is rewritten; no summary, no line


def _smk(tmp_path, *, log=True):
    """A ``snakemake`` object as a ``script:`` receives it (a list input is a named slice)."""
    files = InputFiles(["in.h5ad", "a.yaml", "b.yaml"])
    files._set_name("h5ad", 0)
    files._set_name("sets", 1, end=3)
    return Snakemake(
        input_=files,
        output=OutputFiles(fromdict={"cells": "cells.tsv"}),
        params=Params(fromdict={"annotate": {"min_score": 0.05}, "row": {"label_col": ""}}),
        wildcards=Wildcards(fromdict={"dataset": "mini"}),
        threads=2,
        resources=None,
        log=Log([str(tmp_path / "annotate.log")] if log else []),
        config={},
        rulename="annotate",
        bench_iteration=None,
        scriptdir=str(tmp_path),
    )


def test_run_stage_passes_named_items(tmp_path):
    seen = []

    def stage(io: StageIO) -> str:
        seen.append(io)
        return "annotated 2 clusters"

    runner.run_stage(stage, _smk(tmp_path))
    (io,) = seen
    assert io.input == {"h5ad": "in.h5ad", "sets": ["a.yaml", "b.yaml"]}
    assert io.output == {"cells": "cells.tsv"}
    assert io.params == {"annotate": {"min_score": 0.05}, "row": {"label_col": ""}}
    assert io.wildcards == {"dataset": "mini"} and io.threads == 2
    assert "annotated 2 clusters" in (tmp_path / "annotate.log").read_text()


def test_run_stage_without_log(tmp_path):
    runner.run_stage(lambda io: None, _smk(tmp_path, log=False))
    assert not (tmp_path / "annotate.log").exists()


def test_run_stage_input_error(tmp_path):
    def stage(io):
        raise InputError(f"{io.input['h5ad']}: no such column 'x'. Fix: correct sample_col")

    with pytest.raises(SystemExit) as ex:
        runner.run_stage(stage, _smk(tmp_path))
    assert ex.value.code == 1
    text = (tmp_path / "annotate.log").read_text()
    assert text.count("\n") == 1 and "in.h5ad: no such column 'x'" in text


def test_write_json_is_stable(tmp_path):
    path = tmp_path / "s.json"
    runner.write_json({"b": 1, "a": {"d": tmp_path, "c": 2}}, path)
    text = path.read_text()
    assert text.endswith("}\n") and text.index('"a"') < text.index('"b"')
    assert json.loads(text)["a"]["d"] == str(tmp_path)


def test_library_noise_goes_to_the_log_and_one_line_to_the_terminal(tmp_path, capsys):
    from tqdm import tqdm

    log = tmp_path / "flag.log"

    def main():
        print("printed by a library")
        os.write(2, b"written on fd 2 by C code\n")
        warnings.warn("a library warning", UserWarning, stacklevel=1)
        logging.getLogger("tmesig").info("per-step detail")
        for _ in tqdm(range(3), desc="bar"):
            pass
        return "3 of 228 compartment x set tests flagged"

    runner.run(main, log_path=str(log), label="flag [mini]")
    captured = capsys.readouterr()
    assert captured.err == "tmesig flag [mini]: 3 of 228 compartment x set tests flagged\n"
    assert captured.out == ""
    text = log.read_text()
    for noise in ("printed by a library", "written on fd 2", "a library warning", "per-step"):
        assert noise in text
    assert "bar: 100%" in text and "3/3" in text
    assert text.rstrip().endswith("INFO tmesig: 3 of 228 compartment x set tests flagged")
    os.write(2, b"")  # fd 2 is usable again after the stage


def test_disk_full_is_one_clear_line(tmp_path, capsys):
    log = tmp_path / "qc.log"
    err = OSError(errno.ENOSPC, "No space left on device", "results/x/qc.h5ad")
    with pytest.raises(SystemExit) as ex:
        runner.run(_fail(err), log_path=str(log), label="qc [x]")
    assert ex.value.code == 1
    assert capsys.readouterr().err == (
        "tmesig qc [x]: disk full while writing results/x/qc.h5ad: free space or point results "
        "elsewhere (run snakemake from a working directory on a larger disk)\n"
    )
    assert "Traceback" in log.read_text()  # the details stay in the log


def test_disk_full_wrapped_by_a_library_names_the_outputs():
    # h5py reports ENOSPC inside its own message, chained from the OS error or not
    wrapped = OSError(
        "Can't write data (file write failed: errno = 28, error message = "
        "'No space left on device')"
    )
    msg = runner.disk_full_message(wrapped, outputs=["results/x/a.h5ad", "results/x/b.tsv"])
    assert msg.startswith("disk full while writing results/x/a.h5ad, results/x/b.tsv:")
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("could not save") from inner
    except RuntimeError as outer:
        assert runner.disk_full_message(outer, outputs=["o.png"]).startswith(
            "disk full while writing o.png:"
        )
    assert runner.disk_full_message(OSError(errno.EACCES, "Permission denied")) is None


def test_unexpected_error_in_a_script_exits_1_with_one_line(tmp_path, capsys):
    def stage(io):
        raise KeyError("boom")

    with pytest.raises(SystemExit) as ex:
        runner.run_stage(stage, _smk(tmp_path))
    assert ex.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tmesig annotate [mini]: failed: KeyError")
    assert "traceback in" in err and "Traceback" not in err
    assert "Traceback (most recent call last)" in (tmp_path / "annotate.log").read_text()


def test_finished_lines_name_the_report_flags_and_findings(tmp_path, monkeypatch):
    from tmesig.workflow_paths import WorkflowPaths

    monkeypatch.chdir(tmp_path)
    paths = WorkflowPaths(datasets=("a", "b"))
    flags = tmp_path / "results" / "a" / "flags.tsv"
    flags.parent.mkdir(parents=True)
    flags.write_text("set\tflagged\tnote\nx\tTrue\t\ny\tFalse\t\nz\tTrue\tsome note\n")
    (flags.parent / "summary.html").write_text("<html></html>")
    lines = runner.finished_lines(paths)
    assert lines[0] == "tmesig done. Report: snakemake --report results/report.html"
    assert lines[1] == (
        "  a: 2 of 3 compartment x set tests flagged (results/a/flags.tsv); "
        "findings: results/a/summary.html; tables: results/a/tables/"
    )
    assert lines[2].startswith("  b: flags not found") and "findings" not in lines[2]
    assert all(len(line) < 300 for line in lines)


def test_a_long_summary_is_shortened_on_the_terminal_only(tmp_path, capsys):
    log = tmp_path / "subsets.log"
    summary = "subsets: " + ", ".join(f"'subset_{i}': {i}" for i in range(60))
    runner.run(lambda: summary, log_path=str(log), label="subsets [mini]")
    line = capsys.readouterr().err
    assert line.startswith("tmesig subsets [mini]: subsets: 'subset_0': 0")
    assert len(line.rstrip("\n")) == 300 and line.rstrip().endswith("...")
    assert log.read_text().rstrip().endswith(summary)  # the log has it in full


def test_a_stage_runs_with_the_threads_of_its_rule(tmp_path):
    """Inside the stage, BLAS pools and numba are held to the rule's threads (here 1, from a
    rule given 1 thread); afterwards numba has its threads back."""
    import numba
    from threadpoolctl import threadpool_info

    before = numba.get_num_threads()
    seen = {}

    def stage(io: StageIO) -> None:
        seen["numba"] = numba.get_num_threads()
        seen["blas"] = {p["num_threads"] for p in threadpool_info()}

    smk = _smk(tmp_path)
    smk.threads = 1
    runner.run_stage(stage, smk)
    assert seen["numba"] == 1
    assert seen["blas"] <= {1}
    assert numba.get_num_threads() == before
