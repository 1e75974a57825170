"""Stage ``enrichment``: prerank per compartment against the library and Hallmark GMTs."""

import numpy as np
import pandas as pd
import scanpy as sc
from tmesig.stages import StageIO
from tmesig.stages import enrichment as stage

PARAMS = {"method": "t-test", "permutation_num": 50, "seed": 0, "min_size": 3, "max_size": 500}


def _gmt(path, sets: dict[str, list[str]]) -> str:
    path.write_text(
        "".join(f"{name}\tdesc\t" + "\t".join(genes) + "\n" for name, genes in sets.items()),
        encoding="utf-8",
    )
    return str(path)


def test_enrichment_stage_finds_planted_markers(planted, tmp_path):
    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    a.write_h5ad(tmp_path / "clustered.h5ad")
    compartment = a.obs["group"].map({"A": "T_NK", "B": "myeloid", "C": "unassigned"})
    pd.DataFrame({"compartment": compartment}, index=a.obs_names).iloc[::-1].to_csv(
        tmp_path / "annotation.tsv", sep="\t"
    )
    io = StageIO(
        input={
            "clustered": str(tmp_path / "clustered.h5ad"),
            "annotation": str(tmp_path / "annotation.tsv"),
            "library_gmt": _gmt(tmp_path / "lib.gmt", {"markers_a": [f"G{i}" for i in range(15)]}),
            "hallmark_gmt": _gmt(
                tmp_path / "h.gmt", {"HALLMARK_B": [f"G{i}" for i in range(15, 30)]}
            ),
        },
        output={"table": str(tmp_path / "enrichment.tsv")},
        params={"enrichment": PARAMS},
    )
    assert stage.run(io) == "4 enrichment rows for 2 compartments"
    res = pd.read_csv(tmp_path / "enrichment.tsv", sep="\t")
    assert res.columns.tolist() == [
        "group",
        "collection",
        "term",
        "es",
        "nes",
        "p",
        "fdr",
        "fwer",
        "tag_fraction",
        "lead_genes",
        "input_mode",
    ]
    assert (res["input_mode"] == "counts").all()  # nothing recorded in the h5ad: counts
    assert set(res["group"]) == {"T_NK", "myeloid"}  # unassigned cells are not a group
    row = res.set_index(["group", "term"]).loc[("T_NK", "markers_a")]
    assert row["collection"] == "tmesig" and row["nes"] > 0
    row = res.set_index(["group", "term"]).loc[("myeloid", "HALLMARK_B")]
    assert row["collection"] == "hallmark" and row["nes"] > 0
    # written with float_format %.6g
    raw = (tmp_path / "enrichment.tsv").read_text().splitlines()[1].split("\t")
    assert all(v == f"{float(v):.6g}" for v in raw[3:6])
    assert np.isfinite(res["es"]).all()


def test_enrichment_stage_never_reads_the_whole_matrix(planted, tmp_path, monkeypatch):
    """The t-test ranking streams the backed file: same table as scanpy's in-memory ranking."""
    from tmesig import enrichment

    a = planted.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    a.write_h5ad(tmp_path / "clustered.h5ad")
    pd.DataFrame({"compartment": a.obs["group"]}, index=a.obs_names).to_csv(
        tmp_path / "annotation.tsv", sep="\t"
    )
    lib = {"markers_a": [f"G{i}" for i in range(15)], "markers_c": [f"G{i}" for i in range(30, 45)]}
    io = StageIO(
        input={
            "clustered": str(tmp_path / "clustered.h5ad"),
            "annotation": str(tmp_path / "annotation.tsv"),
            "library_gmt": _gmt(tmp_path / "lib.gmt", lib),
            "hallmark_gmt": _gmt(
                tmp_path / "h.gmt", {"HALLMARK_B": [f"G{i}" for i in range(15, 30)]}
            ),
        },
        output={"table": str(tmp_path / "enrichment.tsv")},
        params={"enrichment": PARAMS},
    )
    real = stage.read_expression

    def backed_only(path, **kw):
        assert kw.get("backed"), "the whole matrix was read into memory"
        return real(path, **kw)

    monkeypatch.setattr(stage, "read_expression", backed_only)
    stage.run(io)
    got = pd.read_csv(tmp_path / "enrichment.tsv", sep="\t")
    rankings = enrichment.rank_genes(a, groupby="group")  # scanpy in memory: the reference
    sets = {"tmesig": lib, "hallmark": {"HALLMARK_B": [f"G{i}" for i in range(15, 30)]}}
    want = enrichment.prerank(rankings, sets, permutation_num=50, seed=0)
    want["input_mode"] = "counts"
    pd.testing.assert_frame_equal(got, pd.read_csv(_tsv(want, tmp_path), sep="\t"))


def _tsv(frame, tmp_path):
    path = tmp_path / "want.tsv"
    frame.to_csv(path, sep="\t", index=False, float_format="%.6g")
    return path
