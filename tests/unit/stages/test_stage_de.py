"""Stage ``de``: pseudobulk + pydeseq2 (counts) or t-tests (normalised), prerank, note rows."""

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tmesig import de
from tmesig.stages import StageIO
from tmesig.stages import de as stage

COND = {"reference": None, "test": None, "min_patients": 3, "min_cells": 10, "alpha": 0.05}
ENR = {"method": "t-test", "permutation_num": 50, "seed": 0, "min_size": 3, "max_size": 500}
GENES = [f"G{i:03d}" for i in range(80)]


def _gmt(path, sets):
    path.write_text("".join(f"{n}\td\t" + "\t".join(g) + "\n" for n, g in sets.items()))
    return str(path)


def _data(tmp_path, *, counts=True, conditions=("NR", "R")):
    """8 patients, one condition each; CD8 exhausted cells of NR carry G000-G011 x4."""
    rng = np.random.default_rng(0)
    rows, obs = [], []
    base = rng.lognormal(0.5, 0.6, len(GENES))
    for p in range(8):
        cond = conditions[p % len(conditions)]
        for state, lineage in (
            ("CD8_exhausted", "T_NK"),
            ("Treg", "T_NK"),
            ("macrophage", "myeloid"),
        ):
            for _ in range(30):
                mu = base * rng.uniform(0.8, 1.2)
                if cond == "NR" and state == "CD8_exhausted":
                    mu = mu * np.where(np.arange(len(GENES)) < 12, 4.0, 1.0)
                rows.append(rng.poisson(mu))
                obs.append((f"P{p}", cond, lineage, state))
    x = np.array(rows, dtype=np.float32)
    obs = pd.DataFrame(obs, columns=["patient", "condition", "compartment", "state"])
    obs.index = [f"c{i}" for i in range(len(obs))]
    a = ad.AnnData(X=sp.csr_matrix(np.log1p(x)), obs=obs[["patient", "condition"]])
    a.var_names = GENES
    if counts:
        a.layers["counts"] = sp.csr_matrix(x)
    a.uns["tmesig_input_mode"] = "counts" if counts else "normalised"
    a.write_h5ad(tmp_path / "clustered.h5ad")
    ann = obs[["compartment", "state"]].assign(parent=obs["compartment"])
    ann.index.name = "cell"
    ann.iloc[::-1].to_csv(tmp_path / "annotation.tsv", sep="\t")  # any cell order
    return StageIO(
        input={
            "clustered": str(tmp_path / "clustered.h5ad"),
            "annotation": str(tmp_path / "annotation.tsv"),
            "library_gmt": _gmt(tmp_path / "lib.gmt", {"planted": GENES[:12]}),
            "hallmark_gmt": _gmt(tmp_path / "h.gmt", {"HALLMARK_X": GENES[40:60]}),
        },
        output={
            "de_conditions": str(tmp_path / "de.tsv"),
            "enrichment_conditions": str(tmp_path / "enr.tsv"),
        },
        params={"conditions": COND, "enrichment": ENR},
    )


def test_stage_counts_pydeseq2_finds_planted_genes_in_the_state(tmp_path):
    io = _data(tmp_path)
    msg = stage.run(io)
    assert "compartments" in msg
    t = pd.read_csv(tmp_path / "de.tsv", sep="\t")
    assert list(t.columns) == list(de.DE_COLUMNS)
    assert set(zip(t["level"], t["compartment"], strict=True)) == {
        ("lineage", "T_NK"),
        ("lineage", "myeloid"),
        ("state", "CD8_exhausted"),
        ("state", "Treg"),
        ("state", "macrophage"),
    }
    assert (t["method"] == "pydeseq2").all() and (t["design"] == "~condition").all()
    assert (t["reference"] == "NR").all() and (t["test"] == "R").all()  # alphabetical
    cd8 = t[t["compartment"] == "CD8_exhausted"].set_index("gene")
    assert (cd8.loc[GENES[:12], "fdr"] < 0.05).all()
    assert (cd8.loc[GENES[:12], "effect"] < -1).all()  # R lower than NR: log2(1/4) = -2
    assert (cd8.drop(GENES[:12])["fdr"].fillna(1) >= 0.05).all()
    mac = t[t["compartment"] == "macrophage"]
    assert (mac["fdr"].fillna(1) >= 0.05).all()
    assert set(t.loc[t["level"] == "state", "parent"]) == {"T_NK", "myeloid"}
    e = pd.read_csv(tmp_path / "enr.tsv", sep="\t").set_index(["compartment", "gene_set"])
    row = e.loc[("CD8_exhausted", "planted")]
    assert row["nes"] < 0 and row["source"] == "library" and row["n_genes_found"] == 12


def test_stage_normalised_uses_t_tests(tmp_path):
    io = _data(tmp_path, counts=False)
    stage.run(io)
    t = pd.read_csv(tmp_path / "de.tsv", sep="\t")
    assert (t["method"] == "t-test on patient mean log values").all()
    assert (t["design"] == "Welch t-test").all()
    assert t["note"].str.contains("input normalised").all()
    cd8 = t[t["compartment"] == "CD8_exhausted"].set_index("gene")
    assert (cd8.loc[GENES[:12], "effect"] < 0).all()


def test_stage_without_two_conditions_writes_notes(tmp_path):
    io = _data(tmp_path, conditions=("only",))
    assert stage.run(io) == "gene-level comparison: none"
    for name in ("de.tsv", "enr.tsv"):
        t = pd.read_csv(tmp_path / name, sep="\t")
        assert list(t.columns) == ["note"] and "no condition to compare" in t["note"].iloc[0]


def test_stage_panel_streams_the_backed_file(tmp_path, monkeypatch):
    """A panel's counts are log-normalised chunk by chunk from the backed file: the stage
    never reads the whole matrix into memory (read_expression without backed=True)."""
    from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place

    io = _data(tmp_path)
    a = ad.read_h5ad(io.input["clustered"])
    counts = a.layers["counts"]
    stored = ad.AnnData(X=counts.copy(), obs=a.obs.copy(), var=a.var.copy())
    normalise_in_place(stored, mode="panel")
    stored.X = counts
    stored.uns[EXPRESSION_KEY] = {**stored.uns[EXPRESSION_KEY], "x": "stored"}
    stored.uns["tmesig_input_mode"] = "panel"
    stored.write_h5ad(io.input["clustered"])
    real = stage.read_expression

    def backed_only(path, **kw):
        assert kw.get("backed"), "the whole matrix was read into memory"
        return real(path, **kw)

    monkeypatch.setattr(stage, "read_expression", backed_only)
    stage.run(io)
    t = pd.read_csv(tmp_path / "de.tsv", sep="\t")
    assert (t["method"] == "t-test on patient mean log values").all()
    assert t["note"].str.contains("input panel").all()
    cd8 = t[t["compartment"] == "CD8_exhausted"].set_index("gene")
    assert (cd8.loc[GENES[:12], "effect"] < 0).all()  # R lower than NR
