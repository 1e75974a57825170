"""Ingest: read a dataset, find its raw counts, map gene identifiers, normalise metadata.

The result of :func:`ingest` is an :class:`~anndata.AnnData` whose ``X`` and
``layers["counts"]`` hold raw counts (``float32``, CSR), whose ``var_names`` are
unique gene symbols spelled as in ``resources/genes/grch38_genes.tsv`` (the spelling of
the signature library) and whose ``obs`` has the columns ``sample``, ``patient`` and
``condition``, plus a JSON-serialisable summary of what was found and decided.

A dataset is one file (``.h5ad``, 10x ``.h5``, 10x matrix directory, see
:mod:`tmesig.io.formats`) or several files separated by ``,`` (one per sample; the sample
label is the file stem unless a sample column is named). Nothing read from a dataset is
executed or unpickled.
"""

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import InputError
from .formats import file_label, read_any, split_paths
from .genes import sum_duplicate_genes, var_symbols
from .matrix_state import find_counts

__all__ = ["MIN_CELLS", "IngestOptions", "ingest"]

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
    """

    matrix_source: str = "auto"
    allow_non_counts: bool = False
    uppercase_mouse: bool = False
    min_cells: int = MIN_CELLS


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
    raw: ad.AnnData, path: Path, options: IngestOptions
) -> tuple[sp.csr_matrix, pd.DataFrame, dict[str, Any]]:
    """:func:`find_counts` of one file, re-checked on every cell (finite, non-negative)."""
    try:
        counts, var, decision = find_counts(
            raw, source=options.matrix_source, allow_non_counts=options.allow_non_counts
        )
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    if counts.nnz and not np.all(np.isfinite(counts.data)):
        msg = (
            f"{path}: the count matrix ({decision['source']}) holds NaN or infinite values; "
            "repair or re-export the file"
        )
        raise InputError(msg)
    if counts.nnz and float(counts.data.min()) < 0:
        msg = (
            f"{path}: negative counts in {decision['source']}; supply raw non-negative counts "
            "(or set ingest.matrix_source to the matrix that holds them)"
        )
        raise InputError(msg)
    if decision["state"] == "counts" and counts.nnz:
        frac_int = float(np.mean(np.abs(counts.data - np.round(counts.data)) < 1e-6))
        decision["fraction_integer_all_cells"] = round(frac_int, 6)
    return counts, var, decision


def _ingest_file(path: Path, options: IngestOptions) -> _Part:
    """Read one file: its counts (duplicated symbols summed), symbols, obs and record."""
    raw, fmt = _read_checked(path)
    counts, var, decision = _file_counts(raw, path, options)
    symbols, gene_info = var_symbols(var, path=path, uppercase_mouse=options.uppercase_mouse)
    n_in = counts.shape[1]
    counts, symbols = sum_duplicate_genes(counts, symbols)
    gene_info["genes_in_file"] = int(n_in)
    gene_info["duplicate_symbols_summed"] = int(n_in - len(symbols))
    info = {
        "path": str(path),
        "format": fmt,
        "matrix": decision,
        "gene_ids": gene_info,
        "cells": int(raw.n_obs),
    }
    obs = raw.obs.copy()
    obs.index = raw.obs_names.astype(str)
    return _Part(path, file_label(path), counts, symbols, obs, info)


def _merge_parts(parts: list[_Part]) -> tuple[sp.csr_matrix, pd.Index]:
    """Stack files by rows over the union of their genes (order of first appearance)."""
    genes = pd.Index(
        pd.unique(np.concatenate([np.asarray(p.symbols, dtype=object) for p in parts])).astype(str)
    )
    blocks = []
    for p in parts:
        pos = genes.get_indexer(p.symbols)
        m = sp.coo_matrix(p.counts)
        blocks.append(
            sp.csr_matrix(
                (m.data, (m.row, pos[m.col])), shape=(m.shape[0], len(genes)), dtype=np.float32
            )
        )
    return sp.csr_matrix(sp.vstack(blocks)), genes


def _combine(parts: list[_Part], where: Path) -> tuple[sp.csr_matrix, pd.Index]:
    """One file's counts, or several stacked with barcodes prefixed by their file label."""
    if len(parts) == 1:
        return parts[0].counts, parts[0].symbols
    labels = [p.label for p in parts]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        msg = (
            f"{where}: several files share the sample label {dup[0]!r} (the file stem); "
            "rename the files so that each stem is unique"
        )
        raise InputError(msg)
    counts, symbols = _merge_parts(parts)
    for p in parts:
        p.obs.index = p.label + "_" + p.obs.index
    return counts, symbols


def _check_usable(
    counts: sp.csr_matrix,
    symbols: pd.Index,
    n_cells: int,
    where: Path,
    *,
    min_cells: int,
    signature_genes: Collection[str] | None,
) -> None:
    """Refuse a dataset without counts, with too few cells or sharing no signature gene."""
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
        overlap = sorted(set(symbols) & set(signature_genes))
        if not overlap:
            shown = ", ".join(symbols[:5])
            msg = (
                f"{where}: none of the {len(symbols)} genes (e.g. {shown}) is in any signature "
                "set, so nothing can be scored; supply human gene symbols or Ensembl IDs (check "
                "the var_names / feature_name column) or a signature library matching these "
                "names (signatures.directory)"
            )
            raise InputError(msg)


def _obs_column(
    obs: pd.DataFrame, column: str | None, *, role: str, path: Path
) -> pd.Series | None:
    """The obs column the sheet names for ``role`` (as str), or None when none is named."""
    if column is None or column == "":
        return None
    if column not in obs.columns:
        shown = ", ".join(map(str, obs.columns[:20])) or "(none)"
        msg = (
            f"{path}: the sample sheet names obs column {column!r} for {role}, but the dataset "
            f"has no such column (it has: {shown}); fix the '{role}_col' entry of the sample "
            "sheet"
        )
        raise InputError(msg)
    values = obs[column]
    if values.isna().any():
        msg = (
            f"{path}: obs column {column!r} ({role}) has {int(values.isna().sum())} missing "
            "values; fill them or choose another column in the sample sheet"
        )
        raise InputError(msg)
    return values.astype(str)


def _part_obs(
    p: _Part, columns: dict[str, str | None], default_sample: str, multi: bool
) -> pd.DataFrame:
    """obs of one file: sample, patient, condition (file when several), then orig_* columns."""
    o = pd.DataFrame(index=p.obs.index)
    sample = _obs_column(p.obs, columns["sample"], role="sample", path=p.path)
    patient = _obs_column(p.obs, columns["patient"], role="patient", path=p.path)
    condition = _obs_column(p.obs, columns["condition"], role="condition", path=p.path)
    o["sample"] = sample.to_numpy() if sample is not None else default_sample
    o["patient"] = patient.to_numpy() if patient is not None else o["sample"].to_numpy()
    o["condition"] = condition.to_numpy() if condition is not None else "NA"
    if multi:
        o["file"] = p.label
    for col in p.obs.columns:
        if col not in ("sample", "patient", "condition", "file"):
            o[f"orig_{col}"] = (
                p.obs[col].astype(object).to_numpy() if multi else p.obs[col].to_numpy()
            )
    return o


def _build_obs(
    parts: list[_Part], columns: dict[str, str | None], dataset: str, where: Path
) -> pd.DataFrame:
    """The dataset's obs: one frame per file, concatenated, roles as categories."""
    multi = len(parts) > 1
    obs_parts = [_part_obs(p, columns, p.label if multi else dataset, multi) for p in parts]
    obs = pd.concat(obs_parts, axis=0, join="outer") if multi else obs_parts[0]
    if obs.index.has_duplicates:
        msg = (
            f"{where}: cell barcodes repeat after prefixing with the file label; make the "
            "barcodes unique"
        )
        raise InputError(msg)
    for col in ("sample", "patient", "condition") + (("file",) if multi else ()):
        obs[col] = pd.Categorical(obs[col].astype(str))
    if multi:
        for col in obs.columns:
            if col.startswith("orig_") and obs[col].dtype == object:
                obs[col] = obs[col].astype(str)
    return obs


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
        a string separated by ``,`` (one file per sample: cells are stacked over the union
        of genes, barcodes are prefixed with ``<label>_`` and the sample label is the file
        stem unless ``sample_col`` is given).
    dataset
        Dataset id from the sample sheet (used as the sample label of a one-file dataset
        when ``sample_col`` is empty).
    sample_col, patient_col, condition_col
        obs columns holding the sample, patient and condition of each cell. Without a
        patient column each sample is its own patient.
    signature_genes
        When given, a dataset sharing no gene with them is refused (nothing could be scored).
    options
        Where counts are read from, non-count data, mouse data and the cell floor (the
        config's ``ingest`` section), see :class:`IngestOptions`.

    Returns
    -------
    adata, summary
        The ingested AnnData and a JSON-serialisable summary.

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
    parts = [_ingest_file(Path(f), options) for f in files]
    where = Path(files[0]) if len(files) == 1 else Path(",".join(files))
    counts, symbols = _combine(parts, where)
    n_cells = sum(p.counts.shape[0] for p in parts)
    _check_usable(
        counts,
        symbols,
        n_cells,
        where,
        min_cells=options.min_cells,
        signature_genes=signature_genes,
    )
    columns = {"sample": sample_col, "patient": patient_col, "condition": condition_col}
    obs = _build_obs(parts, columns, dataset, where)
    counts = sp.csr_matrix(counts, dtype=np.float32)
    counts.sort_indices()
    out = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=pd.Index(symbols, name=None)))
    out.layers["counts"] = counts.copy()
    summary = _summary(out, parts, files, dataset=dataset, columns=columns)
    if signature_genes is not None:
        summary["signature_genes_found"] = int(len(set(symbols) & set(signature_genes)))
    out.uns["tmesig_ingest"] = json.dumps(summary, sort_keys=True, default=str)
    return out, summary
