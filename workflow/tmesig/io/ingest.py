"""Ingest: read a dataset, find its raw counts, map gene identifiers, normalise metadata.

The result of :func:`ingest` is an :class:`~anndata.AnnData` whose ``X`` holds raw counts
(``float32``, CSR; once: no ``counts`` layer copy), whose ``var_names`` are
unique gene symbols spelled as in ``resources/genes/grch38_genes.tsv`` (the spelling of
the signature library) and whose ``obs`` has the columns ``sample``, ``patient`` and
``condition``, plus a JSON-serialisable summary of what was found and decided.

A dataset is one file (``.h5ad``, 10x ``.h5``, 10x matrix directory, see
:mod:`tmesig.io.formats`) or several files separated by ``,`` (one per sample; the sample
label is the file stem unless a sample column is named; merged over the genes every file
measured, :mod:`tmesig.io.merge`). Nothing read from a dataset is executed or unpickled.
In the normalised input mode (``ingest.input_mode: normalised``) log-normalised values whose
counts cannot be recovered are kept as ``X`` (recorded as ``input_mode: normalised``).
"""

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..input_mode import PANEL_MAX_GENES, decide_input_mode
from .counts import COUNT_STATES, find_counts
from .errors import InputError
from .formats import file_label, read_any, split_paths
from .genes import check_signature_overlap, sum_duplicate_genes, var_symbols
from .merge import intersect_files
from .metadata import build_obs, check_design

__all__ = ["MIN_CELLS", "PANEL_MAX_GENES", "IngestOptions", "ingest"]

#: Fewest cells a dataset may have (QC, clustering and per-sample tests need more).
MIN_CELLS = 10


@dataclass(frozen=True)
class IngestOptions:
    """How counts and genes are read: the config's ``ingest`` section.

    Attributes
    ----------
    matrix_source
        ``"auto"`` or a forced candidate (``"X"``, ``"raw"``, ``"layers/<name>"``), see
        :func:`~tmesig.io.find_counts`.
    allow_non_counts
        Accept TPM-like data when no counts are found, see :func:`~tmesig.io.find_counts`.
    uppercase_mouse
        Accept mouse data, using upper-cased symbols as human names (otherwise refused).
    min_cells
        Fewer cells are refused (QC and clustering cannot work on them).
    input_mode
        ``"auto"``/``"counts"``/``"panel"``: counts are required; ``"normalised"``:
        log-normalised values are accepted when no counts can be found or recovered (kept as
        ``X``, no ``counts`` layer).
    """

    matrix_source: str = "auto"
    allow_non_counts: bool = False
    uppercase_mouse: bool = False
    min_cells: int = MIN_CELLS
    input_mode: str = "auto"

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "IngestOptions":
        """Options from the config's ``ingest`` section (missing keys take the defaults).

        Parameters
        ----------
        section
            The ``ingest`` section.

        Returns
        -------
        IngestOptions
        """
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.items() if k in names})


@dataclass
class _Part:
    """One file of a dataset after count finding and gene mapping."""

    path: Path
    label: str
    counts: sp.csr_matrix
    symbols: pd.Index
    obs: pd.DataFrame
    info: dict[str, Any]


def _read_checked(path: Path) -> tuple[ad.AnnData, str]:
    """Read one file; refuse an empty matrix and repeated barcodes."""
    raw, fmt = read_any(path)
    if raw.n_obs == 0 or raw.n_vars == 0:
        msg = (
            f"{path}: the matrix is empty ({raw.n_obs} cells × {raw.n_vars} genes); "
            "supply a dataset with cells and genes"
        )
        raise InputError(msg)
    if raw.obs_names.has_duplicates:
        n = int(raw.obs_names.duplicated().sum())
        first = raw.obs_names[raw.obs_names.duplicated()][0]
        msg = (
            f"{path}: {n} duplicated cell barcodes in obs_names (e.g. {first!r}); make them "
            "unique (e.g. prefix with the sample id: adata.obs_names = sample + '_' + barcode) "
            "and write the file again"
        )
        raise InputError(msg)
    return raw, fmt


def _file_counts(
    raw: ad.AnnData, path: Path, options: IngestOptions, sample_col: str | None
) -> tuple[sp.csr_matrix, pd.DataFrame, dict[str, Any]]:
    """:func:`find_counts` of one file (checked cell by cell), refusing negative counts."""
    groups = None
    if sample_col and sample_col in raw.obs.columns:
        groups = raw.obs[sample_col].astype(str).rename(f"sample ({sample_col})")
    try:
        counts, var, decision = find_counts(
            raw,
            source=options.matrix_source,
            allow_non_counts=options.allow_non_counts,
            accept_log=options.input_mode == "normalised",
            groups=groups,
        )
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    if counts.nnz and float(counts.data.min()) < 0:
        msg = (
            f"{path}: negative counts in {decision['source']}; supply raw non-negative counts "
            "(or set ingest.matrix_source to the matrix that holds them)"
        )
        raise InputError(msg)
    if decision["state"] in COUNT_STATES and counts.nnz:
        frac_int = _fraction_integer(counts.data)
        decision["fraction_integer_all_cells"] = round(frac_int, 6)
    return counts, var, decision


def _fraction_integer(data: np.ndarray, *, chunk: int = 1 << 22) -> float:
    """Share of ``data`` within 1e-6 of an integer, read in slices (no copy of the matrix)."""
    whole = 0
    for start in range(0, data.size, chunk):
        part = data[start : start + chunk]
        whole += int(np.count_nonzero(np.abs(part - np.round(part)) < 1e-6))
    return whole / data.size


def _ingest_file(path: Path, options: IngestOptions, sample_col: str | None) -> _Part:
    """Read one file: its counts (duplicated symbols summed), symbols, obs and record."""
    raw, fmt = _read_checked(path)
    counts, var, decision = _file_counts(raw, path, options, sample_col)
    n_cells, obs = int(raw.n_obs), raw.obs.copy()
    obs.index = raw.obs_names.astype(str)
    del raw  # the file's other matrices go now: only the chosen one is kept (peak memory)
    symbols, gene_info = var_symbols(var, path=path, uppercase_mouse=options.uppercase_mouse)
    n_in = counts.shape[1]
    counts, symbols = sum_duplicate_genes(counts, symbols)
    gene_info["genes_in_file"] = int(n_in)
    gene_info["duplicate_symbols_summed"] = int(n_in - len(symbols))
    gene_info["var_columns"] = [str(c) for c in var.columns]
    info = {
        "path": str(path),
        "format": fmt,
        "matrix": decision,
        "gene_ids": gene_info,
        "cells": n_cells,
    }
    return _Part(path, file_label(path), counts, symbols, obs, info)


def _combine(
    parts: list[_Part], where: Path, signature_genes: Collection[str] | None
) -> tuple[sp.csr_matrix, pd.Index, dict[str, Any] | None]:
    """One file's counts, or several stacked over their shared genes, barcodes prefixed."""
    if len(parts) == 1:
        return parts[0].counts, parts[0].symbols, None
    labels = [p.label for p in parts]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        msg = (
            f"{where}: several files share the sample label {dup[0]!r} (the file stem); "
            "rename the files so that each stem is unique"
        )
        raise InputError(msg)
    modes = {p.label: bool(p.info["matrix"].get("normalised")) for p in parts}
    if len(set(modes.values())) > 1:
        shown = ", ".join(f"{k}: {'log-normalised' if v else 'counts'}" for k, v in modes.items())
        msg = (
            f"{where}: the files hold different kinds of values ({shown}); supply raw counts "
            "for every file (or log-normalised values for every file)"
        )
        raise InputError(msg)
    try:
        counts, symbols, merge = intersect_files(
            [p.counts for p in parts],
            [p.symbols for p in parts],
            labels=labels,
            signature_genes=signature_genes,
        )
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    for p in parts:
        p.obs.index = p.label + "_" + p.obs.index
    return counts, symbols, merge


def _check_usable(
    counts: sp.csr_matrix,
    symbols: pd.Index,
    where: Path,
    *,
    parts: list[_Part],
    min_cells: int,
    signature_genes: Collection[str] | None,
) -> None:
    """Refuse a dataset without counts, with too few cells or sharing no signature gene."""
    n_cells = counts.shape[0]
    total = np.asarray(counts.sum(axis=0)).ravel()
    if not np.any(total > 0):
        msg = f"{where}: every count is zero; the file holds no expression - check the export"
        raise InputError(msg)
    if n_cells < min_cells:
        msg = (
            f"{where}: only {n_cells} cell(s); QC, clustering and the per-sample tests need at "
            f"least {min_cells} - supply the full dataset (ingest.min_cells sets this floor)"
        )
        raise InputError(msg)
    if signature_genes is not None:
        var_columns = sorted({c for p in parts for c in p.info["gene_ids"]["var_columns"]})
        check_signature_overlap(
            symbols, signature_genes=signature_genes, where=where, var_columns=var_columns
        )


def _decisions(
    summary: dict[str, Any], parts: list[_Part], merge: dict[str, Any] | None, *, requested: str
) -> None:
    """Add the input mode, the gene merge and every note (file label first) to ``summary``."""
    summary["input_mode"] = decide_input_mode(
        normalised=any(p.info["matrix"].get("normalised") for p in parts),
        n_genes=summary["genes"],
        requested=requested,
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
    if requested == "normalised" and summary["input_mode"] != "normalised":
        notes.append("ingest.input_mode is normalised, but counts were found and are used")
    summary["notes"] = notes


def _summary(
    out: ad.AnnData,
    parts: list[_Part],
    files: list[str],
    *,
    dataset: str,
    columns: dict[str, str | None],
) -> dict[str, Any]:
    """The JSON-serialisable record of what was read, found and decided."""
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


def ingest(
    path: str | Path | Sequence[str | Path],
    *,
    dataset: str,
    sample_col: str | None = None,
    patient_col: str | None = None,
    condition_col: str | None = None,
    signature_genes: Collection[str] | None = None,
    options: IngestOptions = IngestOptions(),
) -> tuple[ad.AnnData, dict[str, Any]]:
    """Read a dataset and return counts with symbols and normalised metadata.

    Parameters
    ----------
    path
        One file (``.h5ad``, 10x ``.h5``, 10x matrix directory) or several, as a sequence or
        a string separated by ``,`` (one file per sample: cells are stacked over the genes
        every file measured - the dropped genes are listed in the summary, never filled with
        zeros - barcodes are prefixed with ``<label>_`` and the sample label is the file stem
        unless ``sample_col`` is given).
    dataset
        Dataset id from the sample sheet (used as the sample label of a one-file dataset
        when ``sample_col`` is empty).
    sample_col, patient_col, condition_col
        obs columns holding the sample, patient and condition of each cell. Without a
        patient column each sample is its own patient. Missing labels (``''``, ``'nan'``...)
        are refused, and so are a condition or patient varying within one sample.
    signature_genes
        When given, a dataset sharing no gene with them is refused (nothing could be scored).
    options
        Where counts are read from, non-count data, mouse data and the cell floor (the
        config's ``ingest`` section), see :class:`IngestOptions`.

    Returns
    -------
    adata, summary
        The ingested AnnData (``X`` holds counts, no ``counts`` layer copy; in the normalised
        input mode ``X`` holds the given log values, ``summary["input_mode"]`` says which) and a
        JSON-serialisable summary (``input_mode``, ``matrix``, ``gene_merge``,
        ``genes_dropped``, ``library_genes_lost``, ``notes``...).

    Raises
    ------
    InputError
        A file that cannot be read or used, naming the file, the problem and the fix.
    """
    files = split_paths(path)
    if not files:
        msg = (
            "the sample sheet 'path' is empty; give a file, a 10x directory or several files "
            "separated by ','"
        )
        raise InputError(msg)
    parts = [_ingest_file(Path(f), options, sample_col) for f in files]
    where = Path(files[0]) if len(files) == 1 else Path(",".join(files))
    counts, symbols, merge = _combine(parts, where, signature_genes)
    _check_usable(
        counts,
        symbols,
        where,
        parts=parts,
        min_cells=options.min_cells,
        signature_genes=signature_genes,
    )
    columns = {"sample": sample_col, "patient": patient_col, "condition": condition_col}
    files_obs = [(p.obs, p.path, p.label) for p in parts]
    obs = build_obs(files_obs, columns, dataset=dataset, where=where)
    check_design(obs, columns, where=where)
    counts = sp.csr_matrix(counts, dtype=np.float32)
    counts.sort_indices()
    out = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=pd.Index(symbols, name=None)))
    summary = _summary(out, parts, files, dataset=dataset, columns=columns)
    _decisions(summary, parts, merge, requested=options.input_mode)
    if signature_genes is not None:
        summary["signature_genes_found"] = int(len(set(symbols) & set(signature_genes)))
    out.uns["tmesig_ingest"] = json.dumps(summary, sort_keys=True, default=str)
    return out, summary
