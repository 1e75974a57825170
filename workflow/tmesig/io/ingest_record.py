"""The ingest summary: what was read, found and decided for one dataset (JSON-serialisable).

:func:`summary` builds the record from the files' parts, :func:`add_decisions` adds the input
mode, the gene merge and every note; :func:`tmesig.io.ingest` stores it in
``uns["tmesig_ingest"]`` and the stage writes it as ``ingest_summary.json``.
"""

from typing import Any

import anndata as ad

from ..input_mode import PANEL_MAX_GENES, decide_input_mode

__all__ = ["add_decisions", "summary"]


def add_decisions(
    summary: dict[str, Any], parts: list[Any], merge: dict[str, Any] | None, *, requested: str
) -> None:
    """Add the input mode, the gene merge and every note (file label first) to ``summary``.

    Parameters
    ----------
    summary
        The record of :func:`summary` (changed in place).
    parts
        The dataset's files as ingested (``label`` and ``info["matrix"]`` of each).
    merge
        The gene-merge record of several files, or None for one file.
    requested
        The config's ``ingest.input_mode``.
    """
    imaging = any(p.info["matrix"].get("control_features", {}).get("imaging") for p in parts)
    summary["input_mode"] = decide_input_mode(
        normalised=any(p.info["matrix"].get("normalised") for p in parts),
        n_genes=summary["genes"],
        requested=requested,
        imaging=imaging,
    )
    multi = len(parts) > 1
    notes = [
        f"{p.label}: {n}" if multi else n for p in parts for n in p.info["matrix"].get("notes", [])
    ]
    if merge is None:
        merge = {"gene_merge": "single file", "genes_dropped": 0, "library_genes_lost": []}
    else:
        notes.append(merge["note"])
    summary.update({k: v for k, v in merge.items() if k != "note"})
    if imaging and summary["input_mode"] == "panel" and summary["genes"] >= PANEL_MAX_GENES:
        notes.append(
            f"an imaging panel's control features were found: the {summary['genes']} genes are "
            "treated as a targeted panel (set ingest.input_mode: counts to treat them as a "
            "whole transcriptome)"
        )
    if requested == "normalised" and summary["input_mode"] != "normalised":
        notes.append("ingest.input_mode is normalised, but counts were found and are used")
    summary["notes"] = notes


def summary(
    out: ad.AnnData,
    parts: list[Any],
    files: list[str],
    *,
    dataset: str,
    columns: dict[str, str | None],
) -> dict[str, Any]:
    """The JSON-serialisable record of what was read, found and decided.

    Parameters
    ----------
    out
        The ingested AnnData (``obs`` with sample, patient, condition; ``X`` may be None).
    parts
        The dataset's files as ingested (``label`` and ``info`` of each).
    files
        The dataset's paths, as given.
    dataset
        The dataset id.
    columns
        The sheet's obs columns for sample, patient and condition.

    Returns
    -------
    dict
    """
    multi = len(parts) > 1
    first = parts[0].info
    renames: dict[str, str] = {}
    for p in parts:
        renames.update(p.info["gene_ids"]["aliases_renamed"])
    return {
        "dataset": dataset,
        "path": ",".join(files),
        "format": first["format"] if not multi else sorted({p.info["format"] for p in parts}),
        "cells": int(out.n_obs),
        "genes": int(out.n_vars),
        "genes_in_file": int(sum(p.info["gene_ids"]["genes_in_file"] for p in parts))
        if not multi
        else None,
        "duplicate_symbols_summed": int(
            sum(p.info["gene_ids"]["duplicate_symbols_summed"] for p in parts)
        ),
        "aliases_renamed": dict(sorted(renames.items())),
        "samples": int(out.obs["sample"].nunique()),
        "patients": int(out.obs["patient"].nunique()),
        "conditions": sorted(map(str, out.obs["condition"].cat.categories)),
        "columns": columns,
        "matrix": first["matrix"] if not multi else {p.label: p.info["matrix"] for p in parts},
        "gene_ids": first["gene_ids"]
        if not multi
        else {p.label: p.info["gene_ids"] for p in parts},
        "files": [
            {
                "label": p.label,
                **{k: v for k, v in p.info.items() if k in ("path", "format", "cells")},
            }
            for p in parts
        ],
        "cells_per_sample": {
            str(k): int(v) for k, v in out.obs["sample"].value_counts().sort_index().items()
        },
    }
