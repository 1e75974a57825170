"""Ingest: read a dataset, find its raw counts, map gene identifiers, normalise metadata.

The result of :func:`ingest` is an :class:`~anndata.AnnData` whose ``X`` and
``layers["counts"]`` hold raw counts (``float32``, CSR), whose ``var_names`` are
unique HGNC symbols and whose ``obs`` has the columns ``sample``, ``patient`` and
``condition``, plus a JSON-serialisable summary of what was found.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import paths

__all__ = [
    "InputError",
    "MatrixState",
    "detect_matrix_state",
    "find_counts",
    "ingest",
    "load_gene_map",
    "map_gene_ids",
    "read_dataset",
    "sha256sum",
    "sum_duplicate_genes",
    "verify_sha256",
]

ENSEMBL_RE = re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")
#: var columns that commonly hold gene symbols next to Ensembl ``var_names``.
SYMBOL_COLUMNS = ("feature_name", "gene_symbols", "gene_symbol", "gene_name", "symbol", "gene")
#: Number of cells inspected when deciding what a matrix holds.
_PROBE_CELLS = 2000


class InputError(ValueError):
    """A dataset or sample sheet that tmesig cannot use, with a message saying why and how to fix it."""


@dataclass
class MatrixState:
    """What a matrix holds and the evidence for that decision.

    Attributes
    ----------
    state
        One of ``counts`` (non-negative integers), ``corrected_counts`` (non-negative,
        non-integer, count-like: values too large to be logarithms), ``log1p_normalized``
        (``log1p`` of counts scaled to a constant total per cell), ``log2_tpm``
        (``log2(TPM + 1)``), ``log_unknown`` (small non-negative non-integers of unknown
        scale), ``scaled`` (negative values present) or ``empty``.
    evidence
        Numbers behind the decision (fraction of integer values, minimum, maximum,
        coefficient of variation of back-transformed totals...).
    """

    state: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _probe_rows(x: Any, *, n: int = _PROBE_CELLS) -> sp.csr_matrix:
    """Return at most ``n`` evenly spaced rows of ``x`` as CSR (deterministic)."""
    n_obs = x.shape[0]
    idx = np.unique(np.linspace(0, n_obs - 1, num=min(n, n_obs)).astype(int)) if n_obs else []
    sub = x[idx]
    return sp.csr_matrix(sub) if not sp.issparse(sub) else sub.tocsr()


def detect_matrix_state(x: Any) -> MatrixState:
    """Decide what a cells × genes matrix holds.

    Parameters
    ----------
    x
        Dense or sparse matrix (cells × genes).

    Returns
    -------
    MatrixState
        The decision and its evidence. Only a probe of evenly spaced cells is read.
    """
    if x.shape[0] == 0 or x.shape[1] == 0:
        return MatrixState("empty", {"shape": list(x.shape)})
    m = _probe_rows(x)
    data = np.asarray(m.data, dtype=np.float64)
    if data.size == 0 or not np.any(data):
        return MatrixState("all_zero", {"cells_probed": int(m.shape[0])})
    ev: dict[str, Any] = {
        "cells_probed": int(m.shape[0]),
        "min": float(data.min()),
        "max": float(data.max()),
    }
    if not np.all(np.isfinite(data)):
        ev["non_finite_values"] = int((~np.isfinite(data)).sum())
        return MatrixState("non_finite", ev)
    frac_int = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    ev["fraction_integer"] = round(frac_int, 6)
    if ev["min"] < 0:
        return MatrixState("scaled", ev)
    if frac_int == 1.0:
        return MatrixState("counts", ev)
    if ev["max"] > 30:
        # log-scale values of expression never reach 30 (e^30 ~ 1e13 counts).
        return MatrixState("corrected_counts", ev)
    rows_e = np.asarray(m.expm1().sum(axis=1)).ravel()
    m2 = m.copy()
    m2.data = np.exp2(m2.data) - 1.0
    rows_2 = np.asarray(m2.sum(axis=1)).ravel()
    nz = rows_e > 0
    cv_e = float(np.std(rows_e[nz]) / np.mean(rows_e[nz]))
    cv_2 = float(np.std(rows_2[nz]) / np.mean(rows_2[nz]))
    ev["cv_total_expm1"] = round(cv_e, 6)
    ev["cv_total_exp2m1"] = round(cv_2, 6)
    if cv_e < 1e-2:
        ev["target_sum"] = float(np.median(rows_e[nz]))
        return MatrixState("log1p_normalized", ev)
    if cv_2 < 1e-2 or abs(np.median(rows_2[nz]) / 1e6 - 1) < 0.05:
        ev["median_total_exp2m1"] = float(np.median(rows_2[nz]))
        return MatrixState("log2_tpm", ev)
    return MatrixState("log_unknown", ev)


def _recover_counts_from_log1p(x: Any) -> tuple[sp.csr_matrix, float]:
    """Invert ``log1p(counts / s_i * target)``: the smallest non-zero value of a cell is one count.

    Returns the recovered counts and the largest distance of any value from an integer.
    """
    m = sp.csr_matrix(x, dtype=np.float64).copy()
    m.data = np.expm1(m.data)
    mins = np.full(m.shape[0], np.inf)
    for i in range(m.shape[0]):
        row = m.data[m.indptr[i] : m.indptr[i + 1]]
        if row.size:
            mins[i] = row[row > 0].min() if np.any(row > 0) else np.inf
    scale = np.where(np.isfinite(mins), 1.0 / mins, 1.0)
    m = sp.diags(scale) @ m
    m = sp.csr_matrix(m)
    err = float(np.max(np.abs(m.data - np.round(m.data)))) if m.nnz else 0.0
    m.data = np.round(m.data)
    return m, err


def find_counts(adata: ad.AnnData, *, source: str = "auto") -> tuple[sp.csr_matrix, dict[str, Any]]:
    """Find or recover raw counts in ``adata``.

    Candidates are inspected in this order: ``layers["counts"]``, ``layers["raw_counts"]``,
    ``raw.X``, ``X``. The first holding integer counts wins; otherwise count-like corrected
    values are used; otherwise counts are recovered from ``log1p`` of normalised counts when
    every cell's smallest non-zero value is one count (checked: recovered values must be
    integers). Everything else is refused.

    Parameters
    ----------
    adata
        The dataset as read.
    source
        ``"auto"`` or the name of one candidate (``"X"``, ``"raw"``, ``"layers/<name>"``)
        to force it (the config's override).

    Returns
    -------
    counts, decision
        CSR float32 counts (cells × ``adata.var_names``; for ``raw`` the columns are
        aligned to ``adata.var_names``) and a record of every candidate's state and the choice.

    Raises
    ------
    InputError
        When no candidate holds counts or recoverable counts.
    """
    candidates: list[tuple[str, Any, pd.Index]] = []
    for name in ("counts", "raw_counts"):
        if name in adata.layers:
            candidates.append((f"layers/{name}", adata.layers[name], adata.var_names))
    if adata.raw is not None:
        candidates.append(("raw", adata.raw.X, adata.raw.var_names))
    candidates.append(("X", adata.X, adata.var_names))
    if source != "auto":
        candidates = [c for c in candidates if c[0] == source]
        if not candidates:
            msg = (
                f"matrix source {source!r} requested in the config is not in the dataset; "
                "use 'auto', 'X', 'raw' or 'layers/<name>' naming an existing layer"
            )
            raise InputError(msg)
    states = {}
    for name, x, _ in candidates:
        states[name] = detect_matrix_state(x)
    decision: dict[str, Any] = {"candidates": {k: asdict(v) for k, v in states.items()}}

    def aligned(x: Any, names: pd.Index) -> sp.csr_matrix:
        m = sp.csr_matrix(x, dtype=np.float32)
        if names.equals(adata.var_names):
            return m
        pos = names.get_indexer(adata.var_names)
        if np.any(pos < 0):
            # .raw may hold more genes than X; keep the raw genes in that case.
            return m
        return sp.csr_matrix(m[:, pos])

    for wanted in ("counts", "corrected_counts"):
        for name, x, names in candidates:
            if states[name].state == wanted:
                decision.update(source=name, state=wanted, recovered=False)
                return aligned(x, names), decision
    for name, x, names in candidates:
        if states[name].state == "log1p_normalized":
            rec, err = _recover_counts_from_log1p(x)
            if err < 0.01:
                decision.update(
                    source=name, state="log1p_normalized", recovered=True, max_rounding_error=err
                )
                return aligned(rec.astype(np.float32), names), decision
            decision.setdefault("notes", []).append(
                f"{name}: log1p-normalised but counts not recoverable (rounding error {err:.3g})"
            )
    if all(v.state in ("all_zero", "empty") for v in states.values()):
        msg = "every count is zero (or the matrix is empty); the file holds no expression - check the export"
        raise InputError(msg)
    found = ", ".join(f"{k}={v.state}" for k, v in states.items())
    msg = (
        f"no raw counts found ({found}). tmesig needs raw UMI/read counts: put them in "
        "X, .raw or layers['counts'] (for GEO uploads, use the authors' count matrix rather than "
        "log-normalised, TPM or scaled values)"
    )
    raise InputError(msg)


def load_gene_map(path: str | Path | None = None) -> pd.Series:
    """Ensembl gene ID (no version) → HGNC symbol, from the shipped gene table."""
    path = Path(path) if path is not None else paths.GENE_TABLE
    table = pd.read_csv(path, sep="\t", usecols=["gene_id", "gene_name"], dtype=str)
    table = table.dropna().drop_duplicates("gene_id")
    return pd.Series(table["gene_name"].to_numpy(), index=table["gene_id"].to_numpy())


def map_gene_ids(var: pd.DataFrame, var_names: pd.Index) -> tuple[pd.Index, dict[str, Any]]:
    """Return gene symbols for ``var_names`` (Ensembl IDs are mapped offline).

    A symbol column in ``var`` (``feature_name``, ``gene_symbols``...) is used first; otherwise
    Ensembl IDs (version suffix allowed) are mapped with the shipped GRCh38 table. Genes that
    stay without a symbol get an empty string.
    """
    names = pd.Index(var_names.astype(str))
    is_ens = names.str.match(ENSEMBL_RE.pattern)
    info: dict[str, Any] = {"fraction_ensembl": round(float(np.mean(is_ens)), 4) if len(names) else 0}
    if len(names) == 0 or info["fraction_ensembl"] < 0.5:
        info["id_type"] = "symbol"
        return names, info
    for col in SYMBOL_COLUMNS:
        if col in var.columns:
            sym = var[col].astype(str).to_numpy()
            info.update(id_type="ensembl", symbol_source=f"var['{col}']")
            return pd.Index(sym), info
    gmap = load_gene_map()
    base = names.str.replace(r"\.\d+$", "", regex=True)
    sym = pd.Series(base).map(gmap).fillna("").to_numpy()
    info.update(
        id_type="ensembl",
        symbol_source="resources/genes/grch38_genes.tsv",
        unmapped=int(np.sum(sym == "")),
    )
    return pd.Index(sym), info


def sum_duplicate_genes(counts: sp.csr_matrix, symbols: pd.Index) -> tuple[sp.csr_matrix, pd.Index]:
    """Sum the columns of genes sharing a symbol; drop genes without a symbol.

    The order of first appearance is kept.
    """
    keep = np.asarray(symbols != "") & ~pd.isna(symbols)
    sym = pd.Index(symbols[keep])
    m = sp.csc_matrix(counts)[:, np.flatnonzero(keep)]
    codes, uniques = pd.factorize(sym)
    if len(uniques) == len(sym):
        return sp.csr_matrix(m), pd.Index(uniques)
    agg = sp.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (np.arange(len(codes)), codes)),
        shape=(len(codes), len(uniques)),
    )
    return sp.csr_matrix(m @ agg), pd.Index(uniques)


def read_dataset(path: str | Path) -> ad.AnnData:
    """Read an h5ad file into memory, turning read failures into :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the 'path' column of the sample sheet"
        raise InputError(msg)
    if path.is_dir() or path.suffix != ".h5ad":
        msg = f"{path}: unsupported format; tmesig reads .h5ad files (convert with anndata/scanpy)"
        raise InputError(msg)
    try:
        return ad.read_h5ad(path)
    except Exception as err:  # h5py/anndata raise many types for corrupt files
        msg = (
            f"{path}: not a readable h5ad file ({type(err).__name__}: {err}); "
            "re-download or re-export it with anndata.AnnData.write_h5ad"
        )
        raise InputError(msg) from err


def _obs_column(obs: pd.DataFrame, column: str | None, *, role: str, path: Path) -> pd.Series | None:
    if column is None or column == "":
        return None
    if column not in obs.columns:
        shown = ", ".join(map(str, obs.columns[:20])) or "(none)"
        msg = (
            f"{path}: the sample sheet names obs column {column!r} for {role}, but the dataset has "
            f"no such column (it has: {shown}); fix the '{role}_col' entry of the sample sheet"
        )
        raise InputError(msg)
    values = obs[column]
    if values.isna().any():
        msg = (
            f"{path}: obs column {column!r} ({role}) has {int(values.isna().sum())} missing values; "
            "fill them or choose another column in the sample sheet"
        )
        raise InputError(msg)
    return values.astype(str)


def ingest(
    path: str | Path,
    *,
    dataset: str,
    sample_col: str | None = None,
    patient_col: str | None = None,
    condition_col: str | None = None,
    matrix_source: str = "auto",
) -> tuple[ad.AnnData, dict[str, Any]]:
    """Read a dataset and return counts with symbols and normalised metadata.

    Parameters
    ----------
    path
        h5ad file.
    dataset
        Dataset id from the sample sheet (used as the sample label when ``sample_col`` is empty).
    sample_col, patient_col, condition_col
        obs columns holding the sample, patient and condition of each cell. Without a
        patient column each sample is its own patient.
    matrix_source
        ``"auto"`` or a forced candidate, see :func:`find_counts`.

    Returns
    -------
    adata, summary
        The ingested AnnData and a JSON-serialisable summary.
    """
    path = Path(path)
    raw = read_dataset(path)
    if raw.n_obs == 0 or raw.n_vars == 0:
        msg = f"{path}: the matrix is empty ({raw.n_obs} cells × {raw.n_vars} genes); supply a dataset with cells and genes"
        raise InputError(msg)
    if raw.obs_names.has_duplicates:
        n = int(raw.obs_names.duplicated().sum())
        msg = f"{path}: {n} duplicated cell barcodes in obs_names; make them unique (e.g. prefix with the sample id)"
        raise InputError(msg)
    try:
        counts, decision = find_counts(raw, source=matrix_source)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    cstate = decision["candidates"][decision["source"]]
    if cstate["state"] == "non_finite":
        msg = f"{path}: the count matrix holds NaN or infinite values; repair the file"
        raise InputError(msg)
    if counts.nnz and float(counts.data.min()) < 0:
        msg = f"{path}: negative counts; supply raw non-negative counts"
        raise InputError(msg)
    var_src = raw.var if decision["source"] != "raw" else raw.raw.var
    names_src = raw.var_names if counts.shape[1] == raw.n_vars else raw.raw.var_names
    symbols, gene_info = map_gene_ids(var_src.reindex(names_src), names_src)
    n_genes_in = counts.shape[1]
    counts, symbols = sum_duplicate_genes(counts, symbols)
    if counts.shape[1] == 0:
        msg = f"{path}: no gene could be given an HGNC symbol; supply symbols in var_names or a 'feature_name' column"
        raise InputError(msg)
    total = np.asarray(counts.sum(axis=0)).ravel()
    if not np.any(total > 0):
        msg = f"{path}: every count is zero; the file holds no expression"
        raise InputError(msg)

    obs = pd.DataFrame(index=raw.obs_names.astype(str))
    sample = _obs_column(raw.obs, sample_col, role="sample", path=path)
    patient = _obs_column(raw.obs, patient_col, role="patient", path=path)
    condition = _obs_column(raw.obs, condition_col, role="condition", path=path)
    obs["sample"] = sample.to_numpy() if sample is not None else dataset
    obs["patient"] = patient.to_numpy() if patient is not None else obs["sample"].to_numpy()
    obs["condition"] = condition.to_numpy() if condition is not None else "NA"
    for col in raw.obs.columns:
        if col not in obs.columns:
            obs[f"orig_{col}"] = raw.obs[col].to_numpy()
    for col in ("sample", "patient", "condition"):
        obs[col] = pd.Categorical(obs[col].astype(str))

    counts = sp.csr_matrix(counts, dtype=np.float32)
    counts.sort_indices()
    out = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=pd.Index(symbols, name=None)))
    out.layers["counts"] = counts.copy()
    summary = {
        "dataset": dataset,
        "path": str(path),
        "cells": int(out.n_obs),
        "genes": int(out.n_vars),
        "genes_in_file": int(n_genes_in),
        "duplicate_symbols_summed": int(n_genes_in - out.n_vars - gene_info.get("unmapped", 0)),
        "samples": int(out.obs["sample"].nunique()),
        "patients": int(out.obs["patient"].nunique()),
        "conditions": sorted(map(str, out.obs["condition"].cat.categories)),
        "columns": {"sample": sample_col, "patient": patient_col, "condition": condition_col},
        "matrix": decision,
        "gene_ids": gene_info,
        "cells_per_sample": {str(k): int(v) for k, v in out.obs["sample"].value_counts().sort_index().items()},
    }
    out.uns["tmesig_ingest"] = json.dumps(summary)
    return out, summary


def sha256sum(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | Path, *, expected: str) -> str:
    """Check a file against the sheet's ``sha256`` (skipped when empty) and return its digest.

    Raises
    ------
    InputError
        On a mismatch, naming the file, both digests and the fix.
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the 'path' column of the sample sheet"
        raise InputError(msg)
    digest = sha256sum(path)
    if expected and digest.lower() != expected.lower():
        msg = (
            f"{path}: sha256 mismatch (sheet says {expected.lower()}, file is {digest}); "
            "the file is corrupt or not the one the sheet names - fetch it again or fix the sha256 column"
        )
        raise InputError(msg)
    return digest
