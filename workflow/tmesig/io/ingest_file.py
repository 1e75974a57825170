"""One file of a dataset: read (in memory, or its matrices left in the file), its counts
found and checked, its genes mapped to symbols (duplicated symbols summed); and the options
of ingest (:class:`IngestOptions`, the config's ``ingest`` section).

:func:`tmesig.io.ingest` combines the files of a dataset; see its module for the whole.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cell_checks import CELL_MIN_COUNTS, EMPTY_MAX_COUNTS
from .controls import drop_control_features
from .counts import COUNT_STATES, find_counts
from .errors import InputError
from .formats import READ_NOTES, _unreadable, file_label, read_any
from .gene_names import known_symbols
from .genes import ENSEMBL_RE, sum_duplicate_genes, var_symbols
from .h5ad_backed import open_h5ad
from .rows import is_stream, scan

__all__ = ["MIN_CELLS", "STREAM_ABOVE", "IngestOptions"]

#: Fewest cells a dataset may have (QC, clustering and per-sample tests need more).
MIN_CELLS = 10
#: Datasets of more cells are read a chunk of cells at a time (:mod:`tmesig.io.rows`).
STREAM_ABOVE = 100_000


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
    stream_above
        A dataset of more cells (``.h5ad`` files whose matrices are stored by rows) is never
        held whole: its matrices are read a chunk of cells at a time, checked and written
        block by block (the same values; see :func:`tmesig.io.ingest_lazily`). None: never.
    """

    matrix_source: str = "auto"
    allow_non_counts: bool = False
    uppercase_mouse: bool = False
    min_cells: int = MIN_CELLS
    input_mode: str = "auto"
    stream_above: int | None = STREAM_ABOVE

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
    counts: Any  # CSR in memory, or a stream (tmesig.io.rows)
    symbols: pd.Index
    obs: pd.DataFrame
    info: dict[str, Any]
    positive: set[str] | None = None  # streamed: the symbols with a positive value


def _read_checked(path: Path, *, stream: bool) -> tuple[Any, str]:
    """Read one file (matrices left in the file when ``stream``); refuse an empty matrix and
    repeated barcodes."""
    if stream:
        try:
            raw, fmt = open_h5ad(path), "h5ad"
        except Exception as err:  # h5py/anndata raise many types for corrupt files
            raise _unreadable(path, "h5ad", err) from err
    else:
        raw, fmt = read_any(path)
    if raw.n_obs == 0 or raw.n_vars == 0:
        msg = (
            f"{path}: the matrix is empty ({raw.n_obs} cells × {raw.n_vars} genes); "
            "supply a dataset with cells and genes"
        )
        raise InputError(msg)
    _refuse_transposed(path, raw.obs_names, raw.var.index)
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


def _gene_like(names: pd.Index) -> float:
    """Share of ``names`` that are known symbols or Ensembl IDs (at most 2,000 looked at)."""
    names = pd.Index(names[:: max(1, len(names) // 2000)].astype(str))
    known = names.isin(known_symbols()) | names.str.match(ENSEMBL_RE.pattern)
    return float(np.mean(known)) if len(names) else 0.0


def _refuse_transposed(path: Path, obs_names: pd.Index, var_names: pd.Index) -> None:
    """Refuse a genes × cells matrix (an R or GEO table read as is): genes as obs."""
    if _gene_like(obs_names) >= 0.5 and _gene_like(var_names) < 0.05:
        msg = (
            f"{path}: the matrix is transposed: its {len(obs_names)} rows (obs) are genes "
            f"(e.g. {', '.join(map(str, obs_names[:3]))}) and its {len(var_names)} columns "
            f"(var) cells (e.g. {', '.join(map(str, var_names[:3]))}); tmesig reads cells as "
            "rows - transpose it (adata = adata.T) and save the file again"
        )
        raise InputError(msg)


def _file_counts(
    raw: Any, path: Path, options: IngestOptions, sample_col: str | None
) -> tuple[Any, pd.DataFrame, dict[str, Any], np.ndarray | None]:
    """:func:`find_counts` of one file (checked cell by cell), refusing negative counts; a
    stream is read once more for that (and for its columns with a positive value)."""
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
    _refuse_unfiltered(path, decision)
    if is_stream(counts):
        return (counts, var, *_scanned(counts, path, decision))
    if counts.nnz and float(counts.data.min()) < 0:
        raise _negative(path, decision)
    if decision["state"] in COUNT_STATES and counts.nnz:
        frac_int = _fraction_integer(counts.data)
        decision["fraction_integer_all_cells"] = round(frac_int, 6)
    return counts, var, decision, None


def _refuse_unfiltered(path: Path, decision: dict[str, Any]) -> None:
    """Refuse counts of every droplet (a 10x raw_feature_bc_matrix): most barcodes hold a few
    counts of ambient RNA beside the cells; QC cannot separate them (its thresholds would be
    set on the empty droplets)."""
    cells = decision["cells"]
    n = sum(cells[f"cells_{k}"] for k in ("integer", "log", "non_integer", "sparse"))
    empty, full = cells["cells_below_empty_max"], cells["cells_above_cell_min"]
    if decision.get("non_counts") or decision.get("normalised") or not 2 * empty > n or full < 3:
        return
    msg = (
        f"{path}: {empty} of {n} barcodes hold fewer than {EMPTY_MAX_COUNTS} counts beside "
        f"{full} with at least {CELL_MIN_COUNTS}: an unfiltered matrix of every droplet (e.g. "
        "10x raw_feature_bc_matrix), mostly empty droplets; supply the filtered matrix "
        "(filtered_feature_bc_matrix) or call the cells first (e.g. EmptyDrops, CellBender) "
        "and supply those"
    )
    raise InputError(msg)


def _negative(path: Path, decision: dict[str, Any]) -> InputError:
    msg = (
        f"{path}: negative counts in {decision['source']}; supply raw non-negative counts "
        "(or set ingest.matrix_source to the matrix that holds them)"
    )
    return InputError(msg)


def _scanned(
    counts: Any, path: Path, decision: dict[str, Any]
) -> tuple[dict[str, Any], np.ndarray]:
    """The checks of :func:`_file_counts` on a stream, in one pass over its blocks."""
    s = scan(counts)
    if s.n_values and s.minimum < 0:
        raise _negative(path, decision)
    if decision["state"] in COUNT_STATES and s.n_values:
        decision["fraction_integer_all_cells"] = round(s.n_integer / s.n_values, 6)
    return decision, s.positive


def _fraction_integer(data: np.ndarray, *, chunk: int = 1 << 22) -> float:
    """Share of ``data`` within 1e-6 of an integer, read in slices (no copy of the matrix)."""
    whole = 0
    for start in range(0, data.size, chunk):
        part = data[start : start + chunk]
        whole += int(np.count_nonzero(np.abs(part - np.round(part)) < 1e-6))
    return whole / data.size


def _ingest_file(
    path: Path, options: IngestOptions, sample_col: str | None, *, stream: bool
) -> _Part:
    """Read one file: its counts (duplicated symbols summed), symbols, obs and record."""
    raw, fmt = _read_checked(path, stream=stream)
    counts, var, decision, positive = _file_counts(raw, path, options, sample_col)
    decision.setdefault("notes", []).extend(getattr(raw, "uns", {}).get(READ_NOTES, []))
    counts, var, kept = drop_control_features(counts, var, decision)
    if positive is not None and kept is not None:
        positive = positive[kept]
    n_cells, obs = int(raw.n_obs), raw.obs.copy()
    obs.index = raw.obs_names.astype(str)
    del raw  # the file's other matrices go now: only the chosen one is kept (peak memory)
    symbols, gene_info = var_symbols(var, path=path, uppercase_mouse=options.uppercase_mouse)
    decision.setdefault("notes", []).extend(gene_info.pop("notes"))
    found = None if positive is None else {g for g in symbols[positive] if g}
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
    return _Part(path, file_label(path), counts, symbols, obs, info, found)
