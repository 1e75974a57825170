"""The findings page of one dataset in plain words: :class:`Findings` -> page blocks.

Every number is followed by a link to the table it comes from (relative to
``results/{dataset}/``, where the page is written).
"""

import pandas as pd

from ..constants import COL_LEVEL, COL_PARENT, LEVEL_STATE
from ._facts import Findings
from ._format import count, gene_set, num, tab
from ._render import Code, Heading, Items, Para, Table
from ._sections import conditions_section, patients_section, unmeasured_section

__all__ = ["PATIENTS_HEATMAP", "findings_page"]

#: The per-patient heatmap, relative to the dataset's folder (written with >= 3 patients).
PATIENTS_HEATMAP = "report/patients/patients_heatmap.png"
_DIRECTION = {"up": "high = resistance", "down": "low = resistance"}
#: Ingest notes shown on the page (the rest: in ingest_summary.json).
MAX_INGEST_NOTES = 6


def _genes(top: object) -> str:
    if not isinstance(top, str) or not top:
        return ""
    return ", ".join(g.replace(":", " ") for g in top.split(","))


def _headline(f: Findings) -> list:
    o = f.options
    rule = (
        f"FDR ≤ {o.alpha:g}, effect ≥ {o.min_effect:g} SD towards resistance, above "
        "expression-matched random gene sets"
    )
    if len(f.flagged):
        top = "; ".join(
            f"{r['title']} in {r['compartment']}" for r in f.flagged.head(3).to_dict("records")
        )
        lead = (
            f"{len(f.flagged)} of {f.n_primary} pre-specified compartment × gene-set tests "
            f"are flagged ({rule}): {top}."
        )
    else:
        lead = (
            f"Nothing is flagged: none of the {f.n_primary} pre-specified compartment × "
            f"gene-set tests ({f.n_primary_tested} with a p-value) passes the flag rule ({rule})."
        )
    c = f.conditions
    cond = (
        f"Conditions: {c.contrast}, {c.n_significant} of {c.n_tests} comparisons at FDR ≤ "
        f"{o.alpha:g} ({c.n_tested} testable)."
        if c.compared
        else "No condition was compared (the sample sheet names no condition column)."
    )
    return [
        Para((lead, " (", tab("flags.tsv"), ")"), lead=True),
        Para((cond, " (", tab("conditions.tsv"), ")")),
        Para(
            "Each number links to its table, next to this page in results/"
            f"{f.dataset}/; in the Snakemake report, the table of the same name is under its "
            "category. Flags are associations within this dataset, not evidence of clinical "
            "resistance."
        ),
    ]


def _ingest_items(notes: tuple[str, ...]) -> list[tuple]:
    """One item per ingest note (at most :data:`MAX_INGEST_NOTES`, then how many more)."""
    items = [
        ("At ingest: ", n, " (", tab("ingest_summary.json"), ")") for n in notes[:MAX_INGEST_NOTES]
    ]
    if len(notes) > MAX_INGEST_NOTES:
        more = f"{len(notes) - MAX_INGEST_NOTES} more ingest notes in "
        items.append((more, tab("ingest_summary.json")))
    return items


def _data(f: Findings) -> list:
    s = f.size
    comps = " · ".join(f"{c} {count(n)}" for c, n in f.compartments.items())
    return [
        Heading("The data"),
        Items(
            (
                (
                    f"Input mode: {f.input_mode} (the matrix held {f.matrix}) (",
                    tab("ingest_summary.json"),
                    ")",
                ),
                (
                    f"Size: {count(s['cells'])} cells × {count(s['genes'])} genes from "
                    f"{count(s['samples'])} sample(s) of {count(s['patients'])} patient(s); "
                    f"{count(s['cells_kept'])} cells kept after QC (",
                    tab("ingest_summary.json"),
                    ", ",
                    tab("qc_summary.tsv"),
                    ")",
                ),
                ("Cells per compartment: ", comps, " (", tab("annotation.tsv"), ")"),
                *_ingest_items(f.ingest_notes),
            )
        ),
        Heading("Quality control, one line per sample"),
        Table(
            ("sample", "cells in", "kept", "removed"),
            tuple(
                (r["sample"], count(r["cells_in"]), count(r["cells_kept"]), r["removed"])
                for r in f.qc.to_dict("records")
            ),
            source=tab("qc_summary.tsv"),
            numeric=(False, True, True, False),
        ),
    ]


def _where(row: dict) -> str:
    """The row's compartment: a lineage, or a cell state with its lineage
    ("CD8_exhausted (T_NK)")."""
    if row.get(COL_LEVEL) == LEVEL_STATE and isinstance(row.get(COL_PARENT), str):
        return f"{row['compartment']} ({row[COL_PARENT]})"
    return str(row["compartment"])


def _flags(f: Findings) -> list:
    o = f.options
    out: list = [Heading("What was flagged")]
    if len(f.flagged):
        out.append(
            Para(
                "Sorted by evidence (FDR, then effect). Effect: the compartment's score minus "
                "that of the other cells of the same samples, in SD units, positive towards "
                "resistance; genes found: of the set's genes, those in the data; driving "
                "genes: their contribution to the contrast."
            )
        )
        rows = tuple(
            (
                _where(r),
                gene_set(r["set"], r["title"]),
                _DIRECTION.get(r["direction"], r["direction"]),
                num(r["resistance_effect"], "+.2f"),
                num(r["fdr"]),
                r["coverage"],
                _genes(r["top_genes"]),
            )
            for r in f.flagged.to_dict("records")
        )
        cols = ("compartment", "gene set", "direction", "effect (SD)", "FDR", "genes found")
        num_cols = (False, False, False, True, True, True, False)
        out.append(
            Table(
                (*cols, "driving genes"),
                rows,
                (tab("flags.tsv"), ", ", tab("coverage.tsv")),
                num_cols,
            )
        )
        return out
    if f.candidates.empty:
        return out + [
            Para(
                (
                    "Nothing is flagged, and there is no candidate: no compartment × "
                    "gene set was measured (",
                    tab("flags.tsv"),
                    ").",
                )
            )
        ]
    out.append(
        Para(
            (
                f"Nothing is flagged. The {len(f.candidates)} strongest candidates "
                "(pre-specified tests first, by p), and why each is not a flag (a flag needs "
                f"a pre-specified test, FDR ≤ {o.alpha:g}, effect ≥ {o.min_effect:g} SD, "
                f"null_z > 0 and ≥ {o.min_samples} samples):",
            )
        )
    )
    rows = tuple(
        (
            _where(r),
            gene_set(r["set"], r["title"]),
            num(r["resistance_effect"], "+.2f"),
            num(r["p"]),
            num(r["fdr"]),
            str(int(r["n_samples"])) if not pd.isna(r["n_samples"]) else "–",
            r["reason"],
        )
        for r in f.candidates.to_dict("records")
    )
    cols = ("compartment", "gene set", "effect (SD)", "p", "FDR", "samples", "why not a flag")
    numeric = (False, False, True, True, True, True, False)
    out.append(Table(cols, rows, source=tab("flags.tsv"), numeric=numeric))
    return out


def findings_page(f: Findings, *, heatmap: bytes = b"") -> list:
    """The whole findings page of one dataset, as blocks (see :mod:`tmesig.findings._render`).

    Parameters
    ----------
    f
        The findings (:func:`tmesig.findings.collect_findings`).
    heatmap
        The per-patient heatmap's PNG bytes, or ``b""`` without one.

    Returns
    -------
    list
        Page blocks, for :func:`tmesig.findings.to_markdown` / :func:`tmesig.findings.to_html`.
    """
    o = f.options
    return [
        Heading(f"Findings: {f.dataset}", level=1),
        *_headline(f),
        *_data(f),
        *_flags(f),
        *conditions_section(f.conditions, alpha=o.alpha),
        *patients_section(f, heatmap=heatmap, heatmap_src=PATIENTS_HEATMAP),
        *unmeasured_section(f),
        Heading("The flag rule"),
        Para(
            (
                "A compartment × gene set is flagged when the set is pre-specified for the "
                "compartment, its score is higher (for ",
                Code("down"),
                " sets: lower) in the compartment than in the other cells of the same samples "
                f"consistently over ≥ {o.min_samples} samples (FDR ≤ {o.alpha:g}, "
                "Benjamini–Hochberg over the pre-specified tests), by at least "
                f"{o.min_effect:g} SD, and more so than expression-matched random gene sets "
                "(null_z > 0). Samples, never cells, are the unit. (",
                tab("flags.tsv"),
                ")",
            )
        ),
    ]
