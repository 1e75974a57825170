"""Small hand-made result tables for the findings tests (no pipeline run)."""

import numpy as np
import pandas as pd
from tmesig import findings, signatures

LIBRARY = tuple(signatures.load_library())
TITLES = {gs.name: gs.title for gs in LIBRARY}

#: flags.tsv rows: (compartment, set, applies, n_samples, resistance_effect, null_z, p, fdr,
#: flagged, top_genes, note). Flagged by the rule: row 0 only.
FLAG_ROWS = [
    ("myeloid", "m2_tam", True, 4, 1.8, 2.0, 0.001, 0.01, True, "CD163:+0.120,MRC1:+0.080", ""),
    ("T_NK", "tcell_exhaustion", True, 4, 0.9, 1.1, 0.004, 0.2, False, "HAVCR2:+0.050", ""),
    ("fibroblast", "collagen_ecm_barrier", False, 4, 2.5, 3.0, 0.0005, 0.01, False, "", ""),
    ("epithelial", "b2m_mhc1_apm", True, 4, 0.3, 0.5, 0.02, 0.03, False, "", ""),
    ("endothelial", "vegf_angiogenesis", True, 4, 0.8, -0.2, 0.03, 0.04, False, "", ""),
    (
        "B_plasma",
        "tls_cabrita",
        True,
        2,
        1.2,
        0.4,
        np.nan,
        np.nan,
        False,
        "",
        "only 2 sample(s) with >= 10 cells: effect shown, no test",
    ),
]
FLAG_COLS = [
    "compartment",
    "set",
    "applies",
    "n_samples",
    "resistance_effect",
    "null_z",
    "p",
    "fdr",
    "flagged",
    "top_genes",
    "note",
]


def flags_table(rows=FLAG_ROWS) -> pd.DataFrame:
    """flags.tsv with the columns the findings read (direction from the library)."""
    df = pd.DataFrame(rows, columns=FLAG_COLS)
    direction = {gs.name: gs.direction for gs in LIBRARY}
    df["direction"] = df["set"].map(direction)
    df["family"] = np.where(df["applies"], "primary", "exploratory")
    return df


def coverage_table() -> pd.DataFrame:
    """coverage.tsv: every library set scored with 3 of 4 genes, except cd274_pdl1."""
    rows = []
    for gs in LIBRARY:
        unscored = gs.name == "cd274_pdl1"
        rows.append(
            {
                "set": gs.name,
                "n_genes": 4,
                "n_found": 0 if unscored else 3,
                "scored": not unscored,
                "reason": "coverage 0.00 < min_coverage 0.50" if unscored else "",
                "genes_missing": "CD274,PDCD1LG2" if unscored else "X",
            }
        )
    return pd.DataFrame(rows)


NO_CONDITION = pd.DataFrame({"note": ["no condition to compare: name a condition column"]})


def conditions_table() -> pd.DataFrame:
    """conditions.tsv of a two-condition comparison: 2 tested rows, 1 untested."""
    return pd.DataFrame(
        {
            "compartment": ["myeloid", "T_NK", "fibroblast"],
            "set": ["m2_tam", "tcell_exhaustion", "collagen_ecm_barrier"],
            "reference": "R",
            "test": "NR",
            "design": ["unpaired", "unpaired", "insufficient"],
            "n_ref": [4, 4, 2],
            "n_test": [5, 5, 1],
            "effect": [0.4, -0.1, 0.2],
            "ci_low": [0.1, -0.5, np.nan],
            "ci_high": [0.7, 0.3, np.nan],
            "p": [0.01, 0.6, np.nan],
            "fdr": [0.02, 0.6, np.nan],
            "significant": [True, False, False],
            "note": ["", "", "fewer than 3 patients per condition (2 vs 1): no test"],
        }
    )


def dataset_tables(
    *,
    flags=None,
    conditions=NO_CONDITION,
    patients=None,
    genes=frozenset({"NT5E", "B2M", "HLA-A"}),
    ingest=None,
    sample="s1",
) -> findings.DatasetTables:
    """A DatasetTables of hand-made tables (two samples; lineages T_NK, myeloid, unassigned)."""
    qc = pd.DataFrame(
        {
            "sample": [sample, "s2"],
            "cells_in": [100, 120],
            "cells_kept": [95, 120],
            "n_low_counts": [3, 0],
            "n_doublet": [2, 0],
            "mito_filter": ["applied", "applied"],
        }
    )
    comp = pd.Series(["T_NK"] * 5 + ["myeloid"] * 4 + ["unassigned"], name="compartment")
    empty_patients = pd.DataFrame(columns=findings.PATIENT_COLUMNS)
    return findings.DatasetTables(
        dataset="demo",
        ingest=ingest
        or {
            "cells": 220,
            "genes": 500,
            "samples": 2,
            "patients": 2,
            "matrix": {"state": "counts", "source": "X"},
        },
        qc_summary=qc,
        coverage=coverage_table(),
        flags=flags_table() if flags is None else flags,
        conditions=conditions,
        composition=conditions.iloc[0:0] if "compartment" not in conditions else pd.DataFrame(),
        compartment=comp,
        patients=empty_patients if patients is None else patients,
        genes=genes,
        library=LIBRARY,
    )
