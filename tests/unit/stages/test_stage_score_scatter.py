"""Stages score_plan, score_stats, score_chunk and the gathering score stage: the scattered
run writes the same scores.parquet and coverage.tsv as the unsplit stage, byte for byte."""

import filecmp

import pandas as pd
import pytest
from scoring_stage_data import SCORE_PARAMS, signature_files, write_clustered
from tmesig.io import InputError
from tmesig.stages import StageIO, score_chunk, score_plan, score_stats
from tmesig.stages import score as score_stage


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    # 60 cells of each demo sample: 240 cells (the samples' cells in sheet order)
    return write_clustered(tmp_path_factory.mktemp("scatter_stage"), n_per_sample=60)[0]


def _plain(tmp, h5ad, params):
    out = {"scores": str(tmp / "scores.parquet"), "coverage": str(tmp / "coverage.tsv")}
    io = StageIO(input={"h5ad": str(h5ad), "sets": signature_files()}, output=out, params=params)
    return score_stage.run(io), out


def _scattered(tmp, h5ad, params, scatter):
    """plan → stats → every block → gather, as the rules chain them; returns the outputs."""
    sets = signature_files()
    plan = str(tmp / "score" / "plan.tsv")
    line = score_plan.run(
        StageIO(
            input={"h5ad": str(h5ad)},
            output={"plan": plan},
            params={"scatter": scatter, "method": params["score"]["method"]},
        )
    )
    stats = {"stats": str(tmp / "score" / "stats.npz"), "coverage": str(tmp / "score" / "c.tsv")}
    score_stats.run(StageIO(input={"h5ad": str(h5ad), "sets": sets}, output=stats, params=params))
    chunks = []
    for chunk in pd.read_csv(plan, sep="\t")["chunk"]:
        chunks.append(str(tmp / "score" / f"chunk_{chunk}.parquet"))
        inputs = {"h5ad": str(h5ad), "plan": plan, "stats": stats["stats"], "sets": sets}
        score_chunk.run(
            StageIO(
                input=inputs,
                output={"scores": chunks[-1]},
                params=params,
                wildcards={"dataset": "d", "chunk": str(chunk)},
            )
        )
    out = {"scores": str(tmp / "scores.parquet"), "coverage": str(tmp / "coverage.tsv")}
    inputs = {"plan": plan, "coverage": stats["coverage"], "chunks": chunks, "sets": sets}
    summary = score_stage.run(StageIO(input=inputs, output=out, params=params))
    return line, summary, out


@pytest.mark.parametrize(("method", "chunk_cells"), [("mean_diff", 100), ("rank", 70)])
def test_scattered_stages_write_the_unsplit_files(tmp_path, clustered, method, chunk_cells):
    params = {"score": {**SCORE_PARAMS, "method": method}}
    (tmp_path / "plain").mkdir()
    plain_line, plain = _plain(tmp_path / "plain", clustered, params)
    scatter = {"min_cells": 100, "chunk_cells": chunk_cells}
    line, summary, out = _scattered(tmp_path, clustered, params, scatter)
    n_blocks = -(-240 // chunk_cells)  # 3 or 4 blocks of 240 cells
    assert line == f"240 cells: scored in {n_blocks} blocks of up to {chunk_cells} cells"
    assert summary == f"{plain_line}; {n_blocks} blocks of cells joined"
    for name in ("scores", "coverage"):
        assert filecmp.cmp(plain[name], out[name], shallow=False), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(out["scores"]), pd.read_parquet(plain["scores"]), check_exact=True
    )


def test_plan_under_the_threshold_is_one_block(tmp_path, clustered):
    plan = tmp_path / "plan.tsv"
    line = score_plan.run(
        StageIO(
            input={"h5ad": str(clustered)},
            output={"plan": str(plan)},
            params={"scatter": {"min_cells": 241, "chunk_cells": 10}, "method": "mean_diff"},
        )
    )
    assert line is None  # one job: no terminal line (the log says so)
    assert pd.read_csv(plan, sep="\t").to_dict("list") == {
        "chunk": [0],
        "start": [0],
        "stop": [240],
    }


def test_chunk_not_in_plan_refused(tmp_path, clustered):
    params = {"score": SCORE_PARAMS}
    scatter = {"min_cells": 1, "chunk_cells": 200}
    _scattered(tmp_path, clustered, params, scatter)
    inputs = {
        "h5ad": str(clustered),
        "plan": str(tmp_path / "score" / "plan.tsv"),
        "stats": str(tmp_path / "score" / "stats.npz"),
        "sets": signature_files(),
    }
    io = StageIO(
        input=inputs,
        output={"scores": str(tmp_path / "x.parquet")},
        params=params,
        wildcards={"chunk": "2"},
    )
    with pytest.raises(InputError, match="no block 2 in the plan"):
        score_chunk.run(io)
    assert not (tmp_path / "x.parquet").exists()
