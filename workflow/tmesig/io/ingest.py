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
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..input_mode import PANEL_MAX_GENES
from .errors import InputError
from .formats import dataset_format, split_paths
from .genes import check_signature_overlap
from .h5ad_backed import streamable_cells
from .ingest_file import MIN_CELLS, STREAM_ABOVE, IngestOptions, _ingest_file, _Part
from .ingest_record import add_decisions, summary
from .merge import intersect_files, shared_genes
from .metadata import build_obs, check_design, samples_across_files
from .rows import StackedRows, is_stream

__all__ = [
    "MIN_CELLS",
    "PANEL_MAX_GENES",
    "STREAM_ABOVE",
    "IngestOptions",
    "ingest",
    "ingest_lazily",
]

#: The options of a call that gives none (the config's defaults).
_DEFAULT_OPTIONS = IngestOptions()


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
        if is_stream(parts[0].counts):
            counts, symbols, merge = _stack_streams(parts, labels, signature_genes)
        else:
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


def _stack_streams(
    parts: list[_Part], labels: list[str], signature_genes: Collection[str] | None
) -> tuple[StackedRows, pd.Index, dict[str, Any]]:
    """:func:`intersect_files` of streams: each file's shared genes taken block by block."""
    genes, positions, merge = shared_genes(
        [p.symbols for p in parts], labels=labels, signature_genes=signature_genes
    )

    def columns(pos: np.ndarray):
        return lambda b: sp.csr_matrix(b, dtype=np.float32)[:, pos]

    pairs = zip(parts, positions, strict=True)
    streams = [p.counts.then(columns(pos), len(genes)) for p, pos in pairs]
    return StackedRows(streams), genes, merge


def _any_positive(counts: Any, symbols: pd.Index, parts: list[_Part]) -> bool:
    """Whether any kept gene has a count above zero (values are non-negative here)."""
    if is_stream(counts):
        kept = set(symbols)
        return any(p.positive & kept for p in parts)
    return bool(np.any(np.asarray(counts.sum(axis=0)).ravel() > 0))


def _as_stored(block: Any) -> sp.csr_matrix:
    """A block as ``ingested.h5ad`` stores it: CSR float32, indices sorted."""
    m = sp.csr_matrix(block, dtype=np.float32)
    m.sort_indices()
    return m


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
    if not _any_positive(counts, symbols, parts):
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


def ingest(
    path: str | Path | Sequence[str | Path],
    *,
    dataset: str,
    sample_col: str | None = None,
    patient_col: str | None = None,
    condition_col: str | None = None,
    signature_genes: Collection[str] | None = None,
    options: IngestOptions = _DEFAULT_OPTIONS,
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
        Where counts are read from, non-count data, mouse data, the cell floor and the size
        above which the files are read in chunks (the config's ``ingest`` section), see
        :class:`IngestOptions`.

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
    columns = {"sample": sample_col, "patient": patient_col, "condition": condition_col}
    out, stream, record = ingest_lazily(
        path, dataset=dataset, columns=columns, signature_genes=signature_genes, options=options
    )
    if stream is not None:
        out.X = stream.collect()
    return out, record


def _streamed(files: list[str], options: IngestOptions) -> bool:
    """Whether the dataset is read in chunks: above ``stream_above`` cells, every file an
    ``.h5ad`` whose matrices are stored by rows."""
    if options.stream_above is None:
        return False
    try:
        for f in files:
            dataset_format(f)
    except InputError:  # refused by the in-memory reader, file by file in the usual order
        return False
    cells = [streamable_cells(f) for f in files]
    return None not in cells and sum(cells) > options.stream_above


def ingest_lazily(
    path: str | Path | Sequence[str | Path],
    *,
    dataset: str,
    columns: Mapping[str, str | None],
    signature_genes: Collection[str] | None = None,
    options: IngestOptions = _DEFAULT_OPTIONS,
) -> tuple[ad.AnnData, Any, dict[str, Any]]:
    """:func:`ingest`, with the matrix of a large dataset left to be read block by block.

    Every check of :func:`ingest` is made (on every cell) before this returns.

    Parameters
    ----------
    path
        The dataset's file(s), as for :func:`ingest`.
    dataset
        Dataset id from the sample sheet.
    columns
        The sheet's obs columns for ``sample``, ``patient`` and ``condition`` (None: none).
    signature_genes
        When given, a dataset sharing no gene with them is refused.
    options
        The config's ``ingest`` section, see :class:`IngestOptions`.

    Returns
    -------
    adata, blocks, summary
        At most ``options.stream_above`` cells: the AnnData of :func:`ingest` and None.
        Above (``.h5ad`` files whose matrices are stored by rows): the AnnData without ``X``
        and an object whose ``blocks()`` yields ``X`` a chunk of cells at a time (CSR
        float32, sorted indices; the file(s) stay open until it is dropped), for
        :func:`tmesig.io.write.write_h5ad_streamed`. The summary of :func:`ingest`.

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
    stream = _streamed(files, options)
    parts = [_ingest_file(Path(f), options, columns["sample"], stream=stream) for f in files]
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
    columns = dict(columns)
    files_obs = [(p.obs, p.path, p.label) for p in parts]
    obs = build_obs(files_obs, columns, dataset=dataset, where=where)
    check_design(obs, columns, where=where)
    var = pd.DataFrame(index=pd.Index(symbols, name=None))
    if stream:
        out, blocks = ad.AnnData(obs=obs, var=var), counts.then(_as_stored)
    else:
        out, blocks = ad.AnnData(X=_as_stored(counts), obs=obs, var=var), None
    record = summary(out, parts, files, dataset=dataset, columns=columns)
    add_decisions(record, parts, merge, requested=options.input_mode)
    record["notes"] += samples_across_files(obs)
    if signature_genes is not None:
        record["signature_genes_found"] = int(len(set(symbols) & set(signature_genes)))
    out.uns["tmesig_ingest"] = json.dumps(record, sort_keys=True, default=str)
    return out, blocks, record
