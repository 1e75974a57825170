import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scoring_stage_data import FLAG_PARAMS, SCORE_PARAMS, signature_files, write_clustered
from tmesig import flag, score, signatures
from tmesig.stages import StageIO
from tmesig.stages import flag as flag_stage
from tmesig.stages import score as score_stage


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flag_stage")
    h5ad, annotation = write_clustered(tmp)
    io = StageIO(
        input={"h5ad": str(h5ad), "sets": signature_files()},
        output={"scores": str(tmp / "scores.parquet"), "coverage": str(tmp / "coverage.tsv")},
        params={"score": SCORE_PARAMS},
    )
    score_stage.run(io)
    return h5ad, annotation, io.output["scores"]


def _run(tmp_path, scored, params, coverage=None):
    h5ad, annotation, scores = scored
    io = StageIO(
        input={
            "scores": scores,
            "annotation": str(annotation),
            "clustered": str(h5ad),
            "sets": signature_files(),
        }
        | ({"coverage": coverage} if coverage else {}),
        output={
            "compartments": str(tmp_path / "compartments.tsv"),
            "flags": str(tmp_path / "flags.tsv"),
        },
        params={"flag": params, "score": SCORE_PARAMS},
    )
    return flag_stage.run(io), io


def _expected(scored, params):
    """The tables of the package call the stage stands for."""
    h5ad, annotation, scores_path = scored
    scores = pd.read_parquet(scores_path)
    sets = [gs for gs in signatures.load_library(signature_files()) if gs.name in scores]
    adata = ad.read_h5ad(h5ad)
    comp = pd.read_csv(annotation, sep="\t", index_col=0)["compartment"]
    return flag.flag_dataset(
        adata,
        scores,
        sets,
        compartment=comp.reindex(adata.obs_names).astype(str),
        unit=adata.obs[params["unit"]].astype(str),
        options=flag.FlagOptions.from_config(params),
        score_options=score.ScoreOptions.from_config(SCORE_PARAMS),
    )


def test_flag_stage_writes_compartments_and_flags(tmp_path, scored):
    params = {**FLAG_PARAMS, "min_samples": 2, "alpha": 0.9, "min_effect": 0.05}
    summary, io = _run(tmp_path, scored, params)
    table = pd.read_csv(io.output["compartments"], sep="\t")
    flags = pd.read_csv(io.output["flags"], sep="\t", keep_default_na=False, na_values=[""])
    ref_table, ref_flags = _expected(scored, params)
    assert list(table.columns) == list(ref_table.columns)
    assert (
        table[["compartment", "sample", "n_cells"]]
        .astype(str)
        .equals(ref_table[["compartment", "sample", "n_cells"]].astype(str))
    )
    num = ref_table.columns[5:]  # level, compartment, parent, sample, n_cells, then the sets
    np.testing.assert_allclose(table[num].to_numpy(), ref_table[num].to_numpy(), rtol=1e-5)
    # the stage adds each set's gene counts after ``set`` (empty without coverage.tsv)
    assert flags[["n_genes_found", "n_genes"]].isna().all().all()
    flags = flags.drop(columns=["n_genes_found", "n_genes"])
    assert list(flags.columns) == list(ref_flags.columns)
    # flags.tsv is sorted by evidence: FDR ascending, untested rows last ...
    fdr = flags["fdr"].to_numpy()
    n_tested = int((~np.isnan(fdr)).sum())
    assert (np.diff(fdr[:n_tested]) >= 0).all() and np.isnan(fdr[n_tested:]).all()
    # ... and holds the package's rows unchanged
    key = (flags["set"] + "\t" + flags["compartment"]).tolist()
    ref_key = (ref_flags["set"] + "\t" + ref_flags["compartment"]).tolist()
    assert sorted(key) == sorted(ref_key) and len(set(key)) == len(key)
    flags = flags.iloc[pd.Index(key).get_indexer(ref_key)].reset_index(drop=True)
    assert flags["flagged"].tolist() == ref_flags["flagged"].tolist()
    for col in ("effect", "p_samples", "p_null", "null_z", "fdr"):
        np.testing.assert_allclose(flags[col], ref_flags[col], rtol=1e-5, equal_nan=True)
    assert flags["flagged"].any() and (flags["n_null"] == 19).all()
    # floats are written with 6 significant digits
    raw = (tmp_path / "flags.tsv").read_text().splitlines()[1].split("\t")  # the top row
    assert raw[11:14] and all(
        len(v.replace("-", "").replace(".", "").lstrip("0")) <= 6 for v in raw[11:14]
    )
    n = int(ref_flags["flagged"].sum())
    assert summary == f"{n} of {len(ref_flags)} lineage x set and 0 of 0 state x set tests flagged"


def test_flag_stage_gene_counts_from_coverage(tmp_path, scored):
    h5ad, annotation, scores = scored
    names = pd.read_parquet(scores).columns
    cov = pd.DataFrame({"set": names, "n_genes": 7, "n_found": range(len(names))})
    cov.to_csv(tmp_path / "coverage.tsv", sep="\t", index=False)
    _, io = _run(tmp_path, scored, FLAG_PARAMS, coverage=str(tmp_path / "coverage.tsv"))
    flags = pd.read_csv(io.output["flags"], sep="\t")
    expected = dict(zip(cov["set"], cov["n_found"], strict=True))
    assert (flags["set"].map(expected) == flags["n_genes_found"]).all()
    assert (flags["n_genes"] == 7).all()
    cols = list(flags.columns)
    assert cols[cols.index("set") + 1 : cols.index("set") + 3] == ["n_genes_found", "n_genes"]


def test_flag_stage_unit_column_comes_from_params(tmp_path, scored):
    h5ad, _, _ = scored
    adata = ad.read_h5ad(h5ad)
    adata.obs["patient"] = "p" + adata.obs["sample"].astype(str)
    adata.write_h5ad(tmp_path / "clustered.h5ad")
    moved = (tmp_path / "clustered.h5ad", scored[1], scored[2])
    _, io = _run(tmp_path, moved, {**FLAG_PARAMS, "unit": "patient"})
    table = pd.read_csv(io.output["compartments"], sep="\t", dtype={"sample": str})
    assert table["sample"].str.startswith("p").all()
