"""tmesig.columns: every column of the tables that tmesig's functions build has a one-line
definition (the slow browser test checks the files of a real run the same way)."""

import numpy as np
import pandas as pd
import pytest
from tmesig import columns, composition, conditions, flag, qc, signatures
from tmesig.score import coverage_table
from tmesig.signatures import GeneSet
from tmesig.workflow_paths import WorkflowPaths


def _set(name, direction, comps=("any",), genes=("G1", "G2")):
    return GeneSet(
        name=name,
        title=name,
        genes=genes,
        direction=direction,
        compartments=comps,
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


SETS = [_set("up_set", "up", ("myeloid",)), _set("down_set", "down", ("epithelial",))]


def _cells(n_samples=4, n=15, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        (f"s{s}", f"p{s}", "R" if s % 2 else "N", comp, rng.normal(), rng.normal())
        for s in range(n_samples)
        for comp in ("myeloid", "epithelial", "T_NK")
        for _ in range(n)
    ]
    df = pd.DataFrame(rows, columns=["sample", "patient", "cond", "comp", "up_set", "down_set"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df


def _assert_defined(table, cols):
    missing = columns.undefined(table, cols)
    assert not missing, f"{table}: no definition for {missing}"


def test_every_definition_is_one_short_line():
    assert set(columns.TABLES) >= {"flags", "conditions", "qc_summary", "compartment_counts"}
    for table, defs in columns.TABLES.items():
        for col, text in defs.items():
            assert text and "\n" not in text and len(text) <= 300, (table, col)
    for table, patterns in columns.PATTERNS.items():
        assert table in columns.TABLES and all(t and "\n" not in t for _, t in patterns)


def test_the_six_columns_of_issue_13_are_explained():
    for col in ("null_z", "p_null", "p_samples", "mean_in", "mean_out", "top_genes"):
        assert columns.define("flags", col)
    assert "GENE:contribution" in columns.define("flags", "top_genes")
    assert "random gene sets" in columns.define("flags", "p_null")


def test_lookup_fixed_pattern_and_unknown():
    assert columns.define("annotation", "score_T_NK").startswith("marker score")
    assert columns.define("annotation_subsets", "axis_macrophage_M2_minus_M1")
    assert columns.define("flags", "no_such_column") is None
    assert columns.undefined("flags", ["set", "no_such_column"]) == ["no_such_column"]
    assert columns.define("conditions", "note") != columns.NOTE  # its own note
    assert columns.define("label_agreement", "note") == columns.NOTE  # a note-only table
    with pytest.raises(KeyError):
        columns.define("no_such_table", "x")


def test_tables_are_named_like_the_workflow_files():
    paths = WorkflowPaths()
    for table in set(columns.TABLES) - {"compartment_counts", "subset_counts"}:
        assert getattr(paths, table).endswith(".tsv"), table


def test_flag_tables_are_defined():
    df = _cells()
    scores = df[["up_set", "down_set"]]
    f = flag.flag_compartments(scores, SETS, compartment=df["comp"], unit=df["sample"])
    calib = pd.DataFrame(
        {"compartment": f["compartment"], "set": f["set"], "null_z": 1.0, "p_null": 0.1}
    ).assign(n_null=9)
    drivers = f[["compartment", "set"]].assign(top_genes="G1:+0.100,G2:+0.050")
    out = flag.calibrate_flags(f, calib, drivers=drivers)
    _assert_defined("flags", out.columns)
    summary = flag.compartment_summary(scores, compartment=df["comp"], unit=df["sample"])
    fixed = [c for c in summary.columns if c in columns.TABLES["compartments"]]
    assert fixed == ["compartment", "sample", "n_cells"]  # the rest are set names
    assert set(summary.columns) - set(fixed) == {"up_set", "down_set"}


def test_condition_and_composition_tables_are_defined():
    df = _cells(n_samples=6)
    contrast = conditions.resolve_contrast(df["cond"].unique(), reference=None, test=None)
    res = conditions.compare_conditions(
        df[["up_set", "down_set"]],
        SETS,
        cells=df.rename(columns={"comp": "compartment", "cond": "condition"}).assign(
            state=np.where(df["comp"] == "T_NK", "CD8_exhausted", "unassigned")
        ),
        contrast=contrast,
        options=conditions.ConditionOptions(min_cells=5, min_patients=3),
        coverage=pd.DataFrame({"set": [s.name for s in SETS], "n_genes": 2, "n_found": 1}),
    )
    assert res["p"].notna().all()  # a real test ran: every field is present
    assert set(res["level"]) == {"lineage", "state"}
    _assert_defined("conditions", res.columns)
    table = composition.composition_table(
        compartment=df["comp"], patient=df["patient"], condition=df["cond"]
    )
    _assert_defined("composition_by_patient", table.columns)
    comp = composition.compare_composition(table, contrast=contrast)
    _assert_defined("composition", comp.columns)


def test_qc_library_and_coverage_tables_are_defined(planted):
    planted.obs["sample"] = "s1"
    _, metrics, per_sample = qc.run_qc(planted, options=qc.QcOptions(min_genes=10))
    _assert_defined("qc_metrics", [metrics.index.name, *metrics.columns])
    _assert_defined("qc_summary", per_sample.columns)
    library = signatures.load_library()
    _assert_defined("library_table", signatures.library_table(library).columns)
    cov = coverage_table(planted, SETS, min_coverage=0.5)
    _assert_defined("coverage", [*cov.columns, "method"])
