"""Sections of the findings page: conditions and composition, patients, what was not measured."""

import pandas as pd

from ._conditions import ConditionFacts
from ._facts import Findings
from ._format import count, gene_set, num, tab
from ._render import Code, Heading, Image, Items, Para, Table

__all__ = ["conditions_section", "patients_section", "unmeasured_section"]


def _ci(r: dict) -> str:
    if pd.isna(r.get("effect")):
        return "–"
    return f"{r['effect']:+.3g} ({num(r.get('ci_low'), '+.3g')} to {num(r.get('ci_high'), '+.3g')})"


def conditions_section(c: ConditionFacts, *, alpha: float) -> list:
    """The condition comparison and composition section.

    Parameters
    ----------
    c
        The condition facts.
    alpha
        FDR level named in the text.
    """
    out: list = [Heading("Conditions and composition")]
    if not c.compared:
        return out + [
            Para(
                (
                    f"No condition comparison ({c.contrast}). To compare responders with "
                    "non-responders, or pre- with post-treatment samples, name the obs column "
                    "holding the condition in the sample sheet's ",
                    Code("condition_col"),
                    " column (with more than two conditions, also set ",
                    Code("conditions.reference"),
                    " and ",
                    Code("conditions.test"),
                    " in config/config.yaml). (",
                    tab("conditions.tsv"),
                    ")",
                )
            )
        ]
    head = f"{c.contrast}, patients as the unit: {c.n_tested} of {c.n_tests} comparisons tested"
    if c.n_tested == 0:
        return out + [Para((f"{head}; {c.why_untested}. (", tab("conditions.tsv"), ")"))]
    out.append(
        Para(
            (
                f"{head}, {c.n_significant} at FDR ≤ {alpha:g}. Smallest FDR first; "
                "effect = test − reference in score units, with its 95% CI. (",
                tab("conditions.tsv"),
                ")",
            )
        )
    )
    rows = tuple(
        (
            r["compartment"],
            Code(r["set"]),
            str(r.get("design", "")),
            f"{int(r['n_ref'])} / {int(r['n_test'])}",
            _ci(r),
            num(r["p"]),
            num(r["fdr"]),
        )
        for r in c.top.to_dict("records")
    )
    cols = ("compartment", "gene set", "design", "patients (ref / test)", "effect (95% CI)")
    numeric = (False, False, False, True, True, True, True)
    out.append(Table((*cols, "p", "FDR"), rows, source=tab("conditions.tsv"), numeric=numeric))
    return out + _composition(c)


def _composition(c: ConditionFacts) -> list:
    comp = c.composition
    if comp is None or comp.empty:
        return []
    rows = tuple(
        (
            _share_label(r),
            f"{num(r.get('fraction_ref'), '.1%')} → {num(r.get('fraction_test'), '.1%')}",
            _ci(r),
            num(r.get("p")),
            num(r.get("fdr")),
        )
        for r in comp.to_dict("records")
    )
    return [
        Para(
            "Composition: each lineage's share of a patient's cells, and each cell state's "
            "share of its lineage or parent state (e.g. exhausted among CD8 T cells), "
            "compared between conditions with patients as the unit (propeller: "
            "logit-transformed shares and a t-test; effect and CI in logit units)."
        ),
        Table(
            ("share", "mean fraction (ref → test)", "effect (95% CI)", "p", "FDR"),
            rows,
            source=tab("composition.tsv"),
            numeric=(False, True, True, True, True),
        ),
    ]


def _share_label(r: dict) -> str:
    """``T_NK`` for a lineage row, ``CD8_exhausted among CD8_T`` for a state row."""
    den = r.get("denominator")
    if r.get("level") == "state" and isinstance(den, str) and den:
        return f"{r['compartment']} among {den}"
    return str(r["compartment"])


def _z_bound(n: int) -> float:
    return (n - 1) / n**0.5 if n > 0 else 0.0


def _patient_label(r: dict) -> str:
    cond = str(r.get("condition", ""))
    return r["patient"] if cond in ("", "NA", "nan") else f"{r['patient']} ({cond})"


def patients_section(f: Findings, *, heatmap: bytes, heatmap_src: str) -> list:
    """The per-patient view: the largest z-scores, and the heatmap when there is one.

    Parameters
    ----------
    f
        The findings.
    heatmap
        The heatmap's PNG bytes (``b""``: no figure).
    heatmap_src
        The heatmap's path relative to the page.
    """
    o = f.options
    out: list = [Heading("Per-patient view")]
    if f.n_patients < o.min_patients:
        return out + [
            Para(
                (
                    f"Only {f.n_patients} patient(s): a z-score against the cohort is not "
                    f"informative with fewer than {o.min_patients} patients, so there is no "
                    "heatmap. Each patient's mean scores are in ",
                    tab("patients.tsv"),
                    ".",
                )
            )
        ]
    out.append(
        Para(
            (
                f"Each of the {f.n_patients} patients' mean score of each set in each lineage, "
                "as a z-score against the other patients (a patient counts in a lineage with "
                f"≥ {o.min_cells} cells there). With n patients |z| cannot exceed "
                f"(n − 1)/√n ({_z_bound(f.n_patients):.2f} here), so a few patients give few "
                "extremes. The largest deviations among the pre-specified compartment × set "
                "pairs (",
                tab("patients.tsv"),
                "):",
            )
        )
    )
    rows = tuple(
        (
            _patient_label(r),
            r["compartment"],
            gene_set(r["set"], r["title"]),
            count(r["n_cells"]),
            num(r["mean"], "+.3f"),
            num(r["z"], "+.2f"),
        )
        for r in f.deviations.to_dict("records")
    )
    cols = ("patient", "compartment", "gene set", "cells", "mean score", "z")
    numeric = (False, False, False, True, True, True)
    out.append(Table(cols, rows, source=tab("patients.tsv"), numeric=numeric))
    if heatmap:
        out.append(Image(heatmap_src, "per-patient z-scores, patients × compartment:set", heatmap))
    return out


def _unscored_item(r: dict) -> tuple:
    why = f": {r['reason']}" if r["reason"] else ""
    return (*gene_set(r["set"], r["title"]), f", {r['coverage']} genes found{why}")


def unmeasured_section(f: Findings) -> list:
    """What the data could not show: card genes, unscored sets, lineages, untested pairs.

    Parameters
    ----------
    f
        The findings.
    """
    o = f.options
    items: list = []
    if len(f.missing_card):
        card = "; ".join(f"{r['item']}: {r['absent']}" for r in f.missing_card.to_dict("records"))
        items.append(("Card genes absent from the matrix — ", card, " (", tab("coverage.tsv"), ")"))
    else:
        items.append(("Every card gene is in the matrix (", tab("coverage.tsv"), ")."))
    if len(f.unscored):
        for r in f.unscored.to_dict("records"):
            items.append(("Not scored: ", *_unscored_item(r), " (", tab("coverage.tsv"), ")"))
    else:
        items.append(("Every gene set was scored (", tab("coverage.tsv"), ")."))
    if f.lineages_absent:
        items.append(
            (
                f"Lineages with no cell called: {', '.join(f.lineages_absent)} (",
                tab("annotation.tsv"),
                ")",
            )
        )
    n_un = int(f.compartments.get("unassigned", 0))
    total = int(f.compartments.sum())
    if n_un:
        items.append(
            (
                f"{count(n_un)} of {count(total)} cells ({n_un / total:.1%}) stay unassigned (",
                tab("annotation.tsv"),
                ")",
            )
        )
    untested = f.n_primary - f.n_primary_tested
    if untested:
        items.append(
            (
                f"{untested} of {f.n_primary} pre-specified tests have no p-value (fewer than "
                f"{o.min_samples} samples with enough cells; ",
                Code("note"),
                " says why) (",
                tab("flags.tsv"),
                ")",
            )
        )
    return [Heading("What could not be measured"), Items(tuple(items))]
