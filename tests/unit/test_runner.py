"""tmesig.runner: an InputError ends the job in one line; anything else keeps its traceback;
run_stage hands a stage the rule's named files and parameters."""

import json
import logging

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
    assert f"tmesig input error: {msg}" in err and "Traceback" not in err


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
