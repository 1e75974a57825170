import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scoring_stage_data import SCORE_PARAMS, signature_files, write_clustered
from tmesig import score, signatures
from tmesig.stages import StageIO
from tmesig.stages import score as score_stage


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    return write_clustered(tmp_path_factory.mktemp("score_stage"))


def _run(tmp_path, h5ad, params):
    io = StageIO(
        input={"h5ad": str(h5ad), "sets": signature_files()},
        output={
            "scores": str(tmp_path / "scores.parquet"),
            "coverage": str(tmp_path / "coverage.tsv"),
        },
        params={"score": params},
    )
    return score_stage.run(io), io


@pytest.mark.parametrize("method", ["mean_diff", "rank"])
def test_score_stage_writes_scores_and_coverage(tmp_path, clustered, method):
    h5ad, _ = clustered
    params = {**SCORE_PARAMS, "method": method}
    summary, io = _run(tmp_path, h5ad, params)
    scores = pd.read_parquet(io.output["scores"])
    coverage = pd.read_csv(io.output["coverage"], sep="\t", keep_default_na=False)
    # the package call it stands for
    adata = ad.read_h5ad(h5ad)
    lib = signatures.load_library(signature_files())
    ref, ref_cov = score.score_cells(adata, lib, options=score.ScoreOptions.from_config(params))
    pd.testing.assert_frame_equal(scores, ref)
    assert scores.attrs == {} and scores.index.name == "cell"
    assert scores.dtypes.eq(np.float32).all()
    assert list(scores.columns) == coverage.loc[coverage["scored"], "set"].tolist()
    assert list(coverage.columns) == [*ref_cov.columns, "method", "input_mode"]
    assert (coverage["input_mode"] == "counts").all()
    recorded = (
        f"method={method};ctrl_size=50;n_bins=25;seed=0;max_rank=1500;min_coverage=0.5;min_genes=3"
    )
    assert (coverage["method"] == recorded).all()
    skipped = coverage.loc[~coverage["scored"], "set"].tolist()
    missing = f"; not scored (too few genes found): {', '.join(skipped)}" if skipped else ""
    assert summary == f"scored {scores.shape[1]} of {len(coverage)} sets ({method}){missing}"
    # the library's one- and two-gene sets are never scored: listed with the rule they fail
    for name in ("lag3_fgl1", "cd274_pdl1", "slc7a11_xct"):
        row = coverage.set_index("set").loc[name]
        assert not row["scored"] and "< min_genes 3" in row["reason"]


def test_score_stage_scanpy_reads_in_memory(tmp_path, clustered):
    h5ad, _ = clustered
    summary, io = _run(tmp_path, h5ad, {**SCORE_PARAMS, "method": "scanpy"})
    scores = pd.read_parquet(io.output["scores"])
    (tmp_path / "md").mkdir()
    _, md = _run(tmp_path / "md", h5ad, SCORE_PARAMS)
    np.testing.assert_allclose(
        scores.to_numpy(), pd.read_parquet(md.output["scores"]).to_numpy(), atol=1e-5
    )
    assert summary.startswith(f"scored {scores.shape[1]} of ") and "(scanpy)" in summary
