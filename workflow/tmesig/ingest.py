"""Ingest: read a dataset, find its raw counts, map gene identifiers, normalise metadata.

The result of :func:`ingest` is an :class:`~anndata.AnnData` whose ``X`` and
``layers["counts"]`` hold raw counts (``float32``, CSR), whose ``var_names`` are
unique gene symbols spelled as in ``resources/genes/grch38_genes.tsv`` (the spelling of
the signature library) and whose ``obs`` has the columns ``sample``, ``patient`` and
``condition``, plus a JSON-serialisable summary of what was found and decided.

A dataset is one file (``.h5ad``, 10x ``.h5``, 10x matrix directory, see
:mod:`tmesig.formats`) or several files separated by ``,`` (one per sample; the sample
label is the file stem unless a sample column is named). Nothing read from a dataset is
executed or unpickled.
"""

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import paths

__all__ = [
    "ALIAS_TABLE",
    "InputError",
    "MIN_CELLS",
    "MatrixState",
    "derive_renames",
    "detect_matrix_state",
    "detect_species",
    "fetch_url",
    "find_counts",
    "ingest",
    "load_aliases",
    "load_gene_map",
    "map_gene_ids",
    "read_dataset",
    "resolve_aliases",
    "sha256sum",
    "sum_duplicate_genes",
    "verify_sha256",
]

ENSEMBL_RE = re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")
MOUSE_ENSEMBL_RE = re.compile(r"^ENSMUSG\d{6,}(\.\d+)?$")
#: Mouse-style symbols: capital first letter, then lower case (``Cd3e``, ``Actb``, ``mt-Co1``).
MOUSE_SYMBOL_RE = re.compile(r"^([A-Z][a-z][a-z0-9]*(-[a-z0-9]+)?|mt-[A-Za-z0-9]+)$")
#: Clone-based placeholder names of unnamed genes (AC092338.1, RP11-34P13.7, CTD-2201I18.1).
CLONE_NAME_RE = re.compile(r"^([A-Z]{1,2}\d{5,6}\.\d+|RP\d+-.*|CT[ABCD]-.*|XX[a-z]*-.*)$")
#: var columns that commonly hold gene symbols next to Ensembl ``var_names``.
SYMBOL_COLUMNS = ("feature_name", "gene_symbols", "gene_symbol", "gene_name", "symbol", "gene")
#: alias -> tmesig symbol table (see ``resources/README.md``).
ALIAS_TABLE = paths.RESOURCES / "genes" / "aliases.tsv"
#: Fewest cells a dataset may have (QC, clustering and per-sample tests need more).
MIN_CELLS = 10
#: Number of cells inspected when deciding what a matrix holds.
_PROBE_CELLS = 2000
#: States that hold counts (or values tmesig treats as counts) without any flag.
_COUNT_STATES = ("counts", "corrected_counts")


class InputError(ValueError):
    """A dataset or sample sheet that tmesig cannot use, with a message saying why and how to fix it."""


@dataclass
class MatrixState:
    """What a matrix holds and the evidence for that decision.

    Attributes
    ----------
    state
        One of ``counts`` (non-negative integers), ``corrected_counts`` (non-negative,
        non-integer, count-like: values too large to be logarithms, totals varying between
        cells), ``normalized`` (non-integer, unlogged, the same total in every cell: CPM/TPM),
        ``log1p_normalized`` (``log1p`` of counts scaled to a constant total per cell),
        ``log2_tpm`` (``log2(TPM + 1)``), ``log_unknown`` (small non-negative non-integers of
        unknown scale), ``scaled`` (negative values present), ``non_finite`` (NaN or
        infinite values), ``all_zero`` or ``empty``.
    evidence
        Numbers behind the decision (fraction of integer values, minimum, maximum,
        coefficient of variation of back-transformed totals...).
    """

    state: str
    evidence: dict[str, Any] = field(default_factory=dict)


#: What each state means, for messages.
STATE_WORDS = {
    "counts": "raw integer counts",
    "corrected_counts": "count-like non-integer values (e.g. ambient-corrected counts)",
    "normalized": "normalised values with the same total per cell (CPM/TPM), not counts",
    "log1p_normalized": "log1p-normalised values",
    "log2_tpm": "log2(TPM+1) values",
    "log_unknown": "log-scale values of unknown normalisation",
    "scaled": "negative values (scaled/centred data, or corrupt negative counts)",
    "non_finite": "NaN or infinite values",
    "all_zero": "only zeros",
    "empty": "no cells or no genes",
}


def _probe_rows(x: Any, *, n: int = _PROBE_CELLS) -> sp.csr_matrix:
    """Return at most ``n`` evenly spaced rows of ``x`` as CSR float64 (deterministic)."""
    n_obs = x.shape[0]
    idx = np.unique(np.linspace(0, n_obs - 1, num=min(n, n_obs)).astype(int)) if n_obs else []
    sub = x[idx]
    m = (
        sp.csr_matrix(sub, dtype=np.float64)
        if not sp.issparse(sub)
        else sp.csr_matrix(sub.tocsr(), dtype=np.float64)
    )
    m.eliminate_zeros()
    return m


def detect_matrix_state(x: Any) -> MatrixState:
    """Decide what a cells × genes matrix holds.

    Parameters
    ----------
    x
        Dense or sparse matrix (cells × genes).

    Returns
    -------
    MatrixState
        The decision and its evidence. Only a probe of evenly spaced cells is read
        (``evidence["cells_probed"]``); :func:`ingest` re-checks the chosen matrix in full.
    """
    if x.shape[0] == 0 or x.shape[1] == 0:
        return MatrixState("empty", {"shape": [int(s) for s in x.shape]})
    m = _probe_rows(x)
    data = m.data
    ev: dict[str, Any] = {"cells_probed": int(m.shape[0]), "nonzero_values": int(data.size)}
    finite = np.isfinite(data)
    if not np.all(finite):
        ev["non_finite_values"] = int((~finite).sum())
        return MatrixState("non_finite", ev)
    if data.size == 0:
        return MatrixState("all_zero", ev)
    ev.update(min=float(data.min()), max=float(data.max()))
    frac_int = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    ev["fraction_integer"] = round(frac_int, 6)
    if ev["min"] < 0:
        ev["negative_values"] = int((data < 0).sum())
        return MatrixState("scaled", ev)
    if frac_int == 1.0:
        return MatrixState("counts", ev)
    rows = np.asarray(m.sum(axis=1)).ravel()
    nz = rows > 0
    if ev["max"] > 30:
        # log-scale values of expression never reach 30 (e^30 ~ 1e13 counts).
        cv = float(np.std(rows[nz]) / np.mean(rows[nz]))
        ev["cv_total"] = round(cv, 6)
        if cv < 1e-3 and nz.sum() > 1:
            ev["median_total"] = float(np.median(rows[nz]))
            return MatrixState("normalized", ev)
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
    if cv_e < 1e-2 and nz.sum() > 1:
        ev["target_sum"] = float(np.median(rows_e[nz]))
        return MatrixState("log1p_normalized", ev)
    if (cv_2 < 1e-2 and nz.sum() > 1) or abs(np.median(rows_2[nz]) / 1e6 - 1) < 0.05:
        ev["median_total_exp2m1"] = float(np.median(rows_2[nz]))
        return MatrixState("log2_tpm", ev)
    return MatrixState("log_unknown", ev)


def _recover_counts_from_log1p(x: Any) -> tuple[sp.csr_matrix, float]:
    """Invert ``log1p(counts / s_i * target)``: the smallest non-zero value of a cell is one count.

    Returns the recovered counts and the largest distance of any value from an integer.
    """
    m = sp.csr_matrix(x, dtype=np.float64).copy()
    m.eliminate_zeros()
    m.data = np.expm1(m.data)
    mins = np.full(m.shape[0], np.inf)
    for i in range(m.shape[0]):
        row = m.data[m.indptr[i] : m.indptr[i + 1]]
        if row.size and np.any(row > 0):
            mins[i] = row[row > 0].min()
    scale = np.where(np.isfinite(mins), 1.0 / mins, 1.0)
    m = sp.csr_matrix(sp.diags(scale) @ m)
    err = float(np.max(np.abs(m.data - np.round(m.data)))) if m.nnz else 0.0
    m.data = np.round(m.data)
    return m, err


def _candidates(adata: ad.AnnData) -> list[tuple[str, Any, pd.DataFrame]]:
    """(name, matrix, var) of every place counts may be, in the order they are preferred."""
    out: list[tuple[str, Any, pd.DataFrame]] = []
    for name in ("counts", "raw_counts"):
        if name in adata.layers:
            out.append((f"layers/{name}", adata.layers[name], adata.var))
    for name in adata.layers:
        if name not in ("counts", "raw_counts"):
            out.append((f"layers/{name}", adata.layers[name], adata.var))
    if adata.raw is not None:
        out.append(("raw", adata.raw.X, adata.raw.var))
    out.append(("X", adata.X, adata.var))
    return out


def _find_counts(
    adata: ad.AnnData, *, source: str = "auto", allow_non_counts: bool = False
) -> tuple[sp.csr_matrix, pd.DataFrame, dict[str, Any]]:
    """:func:`find_counts` that also returns the ``var`` frame of the chosen matrix's columns."""
    candidates = _candidates(adata)
    available = [c[0] for c in candidates]
    if source != "auto":
        candidates = [c for c in candidates if c[0] == source]
        if not candidates:
            msg = (
                f"matrix source {source!r} set in the config (ingest.matrix_source) is not in the "
                f"dataset (it has: {', '.join(available)}); set ingest.matrix_source to 'auto' or one of those"
            )
            raise InputError(msg)
    elif len(candidates) > 1:
        # other layers are only looked at when nothing standard holds counts
        candidates = [
            c for c in candidates if c[0] in ("layers/counts", "layers/raw_counts", "raw", "X")
        ] + [
            c for c in candidates if c[0] not in ("layers/counts", "layers/raw_counts", "raw", "X")
        ]
    states = {name: detect_matrix_state(x) for name, x, _ in candidates}
    decision: dict[str, Any] = {
        "requested": source,
        "allow_non_counts": allow_non_counts,
        "candidates": {k: asdict(v) for k, v in states.items()},
    }

    def columns(x: Any, var: pd.DataFrame, name: str) -> tuple[sp.csr_matrix, pd.DataFrame]:
        m = sp.csr_matrix(x, dtype=np.float32)
        if var.index.equals(adata.var.index):
            decision["genes_from"] = "X"
            return m, adata.var
        if name == "raw" and var.index.is_unique and adata.var.index.isin(var.index).all():
            extra = int(len(var.index) - len(adata.var.index))
            decision["genes_from"] = "raw"
            decision["raw_genes_not_in_X"] = extra
            if extra == 0:  # the same genes in another order: align to X
                pos = var.index.get_indexer(adata.var.index)
                return sp.csr_matrix(m[:, pos]), adata.var
            return m, var
        decision["genes_from"] = name
        return m, var

    for wanted in _COUNT_STATES:
        for name, x, var in candidates:
            if states[name].state == wanted:
                decision.update(source=name, state=wanted, recovered=False, non_counts=False)
                m, v = columns(x, var, name)
                return m, v, decision
    for name, x, var in candidates:
        if states[name].state == "log1p_normalized":
            rec, err = _recover_counts_from_log1p(x)
            if err < 0.01:
                decision.update(
                    source=name,
                    state="log1p_normalized",
                    recovered=True,
                    non_counts=False,
                    max_rounding_error=err,
                )
                m, v = columns(rec, var, name)
                return m, v, decision
            decision.setdefault("notes", []).append(
                f"{name}: log1p-normalised but counts not recoverable (rounding error {err:.3g})"
            )
    if allow_non_counts:
        for name, x, var in candidates:
            st = states[name].state
            if st in ("log2_tpm", "normalized"):
                m = sp.csr_matrix(x, dtype=np.float64).copy()
                if st == "log2_tpm":
                    m.data = np.exp2(m.data) - 1.0
                decision.update(source=name, state=st, recovered=False, non_counts=True)
                decision.setdefault("notes", []).append(
                    f"{name}: {STATE_WORDS[st]} used as expression because ingest.allow_non_counts is true; "
                    "QC thresholds on counts and doublet calls are not meaningful on them"
                )
                out, v = columns(m, var, name)
                return out, v, decision
    if all(v.state in ("all_zero", "empty") for v in states.values()):
        msg = "every count is zero (or the matrix is empty); the file holds no expression - check the export"
        raise InputError(msg)
    found = "; ".join(f"{k} holds {STATE_WORDS.get(v.state, v.state)}" for k, v in states.items())
    fix = (
        "tmesig needs raw UMI/read counts: put them in X, .raw or layers['counts'] (for GEO uploads, "
        "use the authors' count matrix rather than log-normalised, TPM or scaled values)"
    )
    if any(v.state in ("log2_tpm", "normalized") for v in states.values()) and not allow_non_counts:
        fix += "; to score TPM data anyway set ingest.allow_non_counts: true in the config"
    if any(v.state == "non_finite" for v in states.values()):
        fix += "; NaN/inf values mean a broken export - repair or re-export the matrix"
    msg = f"no raw counts found ({found}). {fix}"
    raise InputError(msg)


def find_counts(
    adata: ad.AnnData, *, source: str = "auto", allow_non_counts: bool = False
) -> tuple[sp.csr_matrix, dict[str, Any]]:
    """Find or recover raw counts in ``adata``.

    Candidates are inspected in this order: ``layers["counts"]``, ``layers["raw_counts"]``,
    ``raw.X``, ``X``, then any other layer. The first holding integer counts wins;
    otherwise count-like corrected values are used; otherwise counts are recovered from
    ``log1p`` of normalised counts when every cell's smallest non-zero value is one count
    (checked: recovered values must be integers); otherwise, only with
    ``allow_non_counts``, log2(TPM+1) (un-logged) or CPM/TPM values are used. Everything
    else is refused.

    Parameters
    ----------
    adata
        The dataset as read.
    source
        ``"auto"`` or the name of one candidate (``"X"``, ``"raw"``, ``"layers/<name>"``)
        to force it (the config's ``ingest.matrix_source``).
    allow_non_counts
        Accept TPM-like values when no counts are found (the config's ``ingest.allow_non_counts``).

    Returns
    -------
    counts, decision
        CSR float32 counts and a record of every candidate's state and the choice. The columns
        are ``adata.var_names`` except when ``.raw`` is chosen and holds more genes than ``X``:
        then they are ``adata.raw.var_names`` (``decision["genes_from"] == "raw"``; nothing is
        dropped).

    Raises
    ------
    InputError
        When no candidate holds counts or recoverable counts.
    """
    counts, _, decision = _find_counts(adata, source=source, allow_non_counts=allow_non_counts)
    return counts, decision


def load_gene_map(path: str | Path | None = None) -> pd.Series:
    """Ensembl gene ID (no version) → symbol, from the shipped gene table."""
    path = Path(path) if path is not None else paths.GENE_TABLE
    table = pd.read_csv(path, sep="\t", usecols=["gene_id", "gene_name"], dtype=str)
    table = table.dropna().drop_duplicates("gene_id")
    return pd.Series(table["gene_name"].to_numpy(), index=table["gene_id"].to_numpy())


def load_aliases(path: str | Path | None = None) -> pd.Series:
    """Alias or renamed symbol → symbol used by tmesig, from ``resources/genes/aliases.tsv``."""
    path = Path(path) if path is not None else ALIAS_TABLE
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").dropna(subset=["alias", "symbol"])
    table = table.drop_duplicates("alias")
    return pd.Series(table["symbol"].to_numpy(), index=table["alias"].to_numpy())


def derive_renames(gene_table: str | Path, gencode: str | Path) -> pd.DataFrame:
    """Symbols renamed since the gene table's Ensembl release, from a newer GENCODE id → name list.

    A rename is an Ensembl gene whose name in ``gencode`` differs from its name in the gene
    table, where the new name is not itself a symbol of the table (it would be ambiguous),
    names only one table gene, and the table name is not a clone-based placeholder (renaming
    ``MCAM`` to ``AP002956.1`` would hide a known gene). This is how the derived rows of
    ``aliases.tsv`` were made.

    Parameters
    ----------
    gene_table
        ``resources/genes/grch38_genes.tsv``.
    gencode
        Headerless CSV ``gene_id(.version),gene_name`` (e.g. GENCODE v44 from celltypist).

    Returns
    -------
    DataFrame
        Columns ``alias`` (new name), ``symbol`` (table name), ``gene_id``; sorted by alias.
    """
    table = pd.read_csv(gene_table, sep="\t", usecols=["gene_id", "gene_name"], dtype=str).dropna()
    new = pd.read_csv(gencode, header=None, names=["gene_id", "alias"], dtype=str).dropna()
    new["gene_id"] = new["gene_id"].str.replace(r"\.\d+$", "", regex=True)
    both = table.merge(new, on="gene_id")
    both = both[(both["alias"] != both["gene_name"]) & ~both["alias"].str.match(ENSEMBL_RE.pattern)]
    both = both[~both["alias"].isin(set(table["gene_name"]))]
    both = both.drop_duplicates(["alias", "gene_name"])
    both = both[~both["alias"].duplicated(keep=False)]
    # an informative new name is never turned into a clone-based placeholder (AC092338.1, RP11-...)
    both = both[~both["gene_name"].str.match(CLONE_NAME_RE.pattern)]
    out = both.rename(columns={"gene_name": "symbol"})[["alias", "symbol", "gene_id"]]
    return out.sort_values("alias", kind="stable").reset_index(drop=True)


def name_placeholders(gene_table: str | Path, gencode: str | Path) -> pd.DataFrame:
    """Protein-coding genes that carry a clone-based placeholder name in the gene table.

    The shipped table comes from an Ensembl release in which a few well-known genes were
    named after a genomic clone (TGFB1 = ``AC011462.1``, PER1 = ``AC129492.1``, MCAM,
    TCL1A, RNF213, ...). A row is renamed to its ``gencode`` symbol when the table name
    matches the clone pattern, the biotype is ``protein_coding``, the new name is neither
    a clone name nor an Ensembl ID, is not already a table symbol, and names exactly one
    Ensembl gene of the table. This is how ``resources/genes/grch38_genes.tsv`` was made
    from the inferploidy table (``resources/README.md``).

    Parameters
    ----------
    gene_table
        The source table (columns ``gene_id``, ``gene_name``, ``biotype``, ...).
    gencode
        Headerless CSV ``gene_id(.version),gene_name`` (e.g. GENCODE v44 from celltypist).

    Returns
    -------
    DataFrame
        Columns ``gene_id``, ``placeholder`` (table name), ``symbol`` (new name), sorted by
        ``gene_id``.
    """
    table = pd.read_csv(
        gene_table, sep="\t", usecols=["gene_id", "gene_name", "biotype"], dtype=str
    )
    new = pd.read_csv(gencode, header=None, names=["gene_id", "symbol"], dtype=str).dropna()
    new["gene_id"] = new["gene_id"].str.replace(r"\.\d+$", "", regex=True)
    new = new.drop_duplicates()
    new = new[new["gene_id"].isin(set(table["gene_id"]))]
    unique_name = ~new["symbol"].duplicated(keep=False)
    new = new[unique_name & ~new["gene_id"].duplicated(keep=False)]
    both = table.merge(new, on="gene_id")
    keep = (
        (both["biotype"] == "protein_coding")
        & both["gene_name"].fillna("").str.match(CLONE_NAME_RE.pattern)
        & ~both["symbol"].str.match(CLONE_NAME_RE.pattern)
        & ~both["symbol"].str.match(ENSEMBL_RE.pattern)
        & ~both["symbol"].isin(set(table["gene_name"].dropna()))
    )
    out = both.loc[keep, ["gene_id", "gene_name", "symbol"]].rename(
        columns={"gene_name": "placeholder"}
    )
    return out.sort_values("gene_id", kind="stable").reset_index(drop=True)


def detect_species(names: pd.Index) -> dict[str, Any]:
    """Guess whether gene names are mouse: Ensembl ``ENSMUSG`` IDs or ``Cd3e``-style symbols.

    Returns
    -------
    dict
        ``species`` (``"mouse"`` or ``"human"``), ``fraction_mouse_ensembl`` and
        ``fraction_mouse_style_symbols`` (over names that are not Ensembl IDs).
    """
    names = pd.Index(names.astype(str))
    n = len(names)
    if n == 0:
        return {
            "species": "human",
            "fraction_mouse_ensembl": 0.0,
            "fraction_mouse_style_symbols": 0.0,
        }
    f_ens = float(np.mean(names.str.match(MOUSE_ENSEMBL_RE.pattern)))
    sym = names[~names.str.match(ENSEMBL_RE.pattern) & (names != "")]
    f_sym = float(np.mean(sym.str.match(MOUSE_SYMBOL_RE.pattern))) if len(sym) else 0.0
    species = "mouse" if (f_ens > 0.5 or f_sym > 0.5) else "human"
    return {
        "species": species,
        "fraction_mouse_ensembl": round(f_ens, 4),
        "fraction_mouse_style_symbols": round(f_sym, 4),
    }


def map_gene_ids(var: pd.DataFrame, var_names: pd.Index) -> tuple[pd.Index, dict[str, Any]]:
    """Return gene symbols for ``var_names`` (Ensembl IDs are mapped offline).

    When most ``var_names`` are Ensembl IDs, a symbol column in ``var`` (``feature_name``,
    ``gene_symbols``...) is used first; otherwise (and for its empty entries) the IDs
    (version suffix allowed) are mapped with the shipped GRCh38 table. An Ensembl ID
    without a symbol keeps its ID (version removed), so nothing is dropped;
    ``info["unmapped"]`` counts them.
    """
    names = pd.Index(var_names.astype(str))
    is_ens = names.str.match(ENSEMBL_RE.pattern)
    info: dict[str, Any] = {
        "fraction_ensembl": round(float(np.mean(is_ens)), 4) if len(names) else 0
    }
    if len(names) == 0 or info["fraction_ensembl"] < 0.5:
        info["id_type"] = "symbol"
        return names, info
    base = pd.Series(names.str.replace(r"\.\d+$", "", regex=True))
    for col in SYMBOL_COLUMNS:
        if col in var.columns:
            sym = (
                var[col]
                .astype(object)
                .where(var[col].notna(), "")
                .astype(str)
                .str.strip()
                .to_numpy()
            )
            sym = np.where(np.isin(sym, ["", "nan", "None"]), "", sym)
            info.update(id_type="ensembl", symbol_source=f"var['{col}']")
            break
    else:
        sym = np.full(len(names), "", dtype=object)
        info.update(
            id_type="ensembl", symbol_source=str(paths.GENE_TABLE.relative_to(paths.REPO_ROOT))
        )
    need = sym == ""
    if need.any():
        gmap = load_gene_map()
        mapped = base[need].map(gmap).fillna("").to_numpy()
        sym = np.asarray(sym, dtype=object)
        sym[need] = mapped
        if "symbol_source" in info and info["symbol_source"].startswith("var["):
            info["symbol_source"] += " (empty entries: gene table)"
    unmapped = sym == ""
    info["unmapped"] = int(unmapped.sum())
    info["mapped"] = int(len(sym) - unmapped.sum())
    sym = np.where(unmapped, base.to_numpy(), sym)
    return pd.Index(sym.astype(str)), info


def resolve_aliases(
    symbols: pd.Index, *, aliases: pd.Series | None = None
) -> tuple[pd.Index, dict[str, str]]:
    """Rename aliases and previous symbols to the symbol tmesig uses (``aliases.tsv``).

    A data symbol is renamed only when it is an alias and its tmesig symbol is not already
    among the data's symbols (the two would otherwise be different measurements under one
    name); several aliases of one gene are renamed to the same symbol and later summed.

    Returns
    -------
    symbols, renames
        The new symbols and ``{alias: symbol}`` for every rename made.
    """
    aliases = load_aliases() if aliases is None else aliases
    present = set(symbols)
    target = pd.Series(symbols.astype(str)).map(aliases)
    ok = target.notna() & ~target.isin(present)
    renames = dict(sorted(zip(pd.Index(symbols)[ok.to_numpy()], target[ok], strict=True)))
    new = pd.Index(
        np.where(
            ok.to_numpy(), target.fillna("").to_numpy(), np.asarray(symbols, dtype=object)
        ).astype(str)
    )
    return new, renames


def sum_duplicate_genes(counts: sp.csr_matrix, symbols: pd.Index) -> tuple[sp.csr_matrix, pd.Index]:
    """Sum the columns of genes sharing a symbol; drop genes without a symbol.

    The order of first appearance is kept.
    """
    symbols = pd.Index(symbols)
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
    """Read one dataset file (.h5ad, 10x .h5 or 10x mtx directory), failures as :class:`InputError`."""
    from . import formats

    return formats.read_any(path)[0]


def _obs_column(
    obs: pd.DataFrame, column: str | None, *, role: str, path: Path
) -> pd.Series | None:
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


@dataclass
class _Part:
    """One file of a dataset after count finding and gene mapping."""

    path: Path
    label: str
    counts: sp.csr_matrix
    symbols: pd.Index
    obs: pd.DataFrame
    info: dict[str, Any]


def _ingest_file(
    path: Path, *, matrix_source: str, allow_non_counts: bool, uppercase_mouse: bool
) -> _Part:
    from . import formats

    raw, fmt = formats.read_any(path)
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
            f"{path}: {n} duplicated cell barcodes in obs_names (e.g. {first!r}); make them unique "
            "(e.g. prefix with the sample id: adata.obs_names = sample + '_' + barcode) and write the file again"
        )
        raise InputError(msg)
    try:
        counts, var, decision = _find_counts(
            raw, source=matrix_source, allow_non_counts=allow_non_counts
        )
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    if counts.nnz and not np.all(np.isfinite(counts.data)):
        msg = f"{path}: the count matrix ({decision['source']}) holds NaN or infinite values; repair or re-export the file"
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
    names = pd.Index(var.index.astype(str))
    sym_cols = [c for c in SYMBOL_COLUMNS if c in var.columns]
    ensembl_ids = float(np.mean(names.str.match(ENSEMBL_RE.pattern))) >= 0.5
    shown_names = pd.Index(var[sym_cols[0]].astype(str)) if ensembl_ids and sym_cols else names
    species = detect_species(shown_names)
    species["fraction_mouse_ensembl"] = detect_species(names)["fraction_mouse_ensembl"]
    if species["fraction_mouse_ensembl"] > 0.5:
        if not (ensembl_ids and sym_cols):
            msg = (
                f"{path}: the genes are mouse Ensembl IDs (ENSMUSG...); tmesig maps human IDs only. "
                "Supply mouse gene symbols in a var column 'feature_name' and set ingest.uppercase_mouse: "
                "true in the config, or use human data"
            )
            raise InputError(msg)
        species["species"] = "mouse"
    symbols, gene_info = map_gene_ids(var, names)
    gene_info["species"] = species
    if species["species"] == "mouse":
        if not uppercase_mouse:
            shown = ", ".join(symbols[:5])
            msg = (
                f"{path}: the genes look like mouse (e.g. {shown}; "
                f"{species['fraction_mouse_style_symbols']:.0%} mouse-style symbols); the signature library "
                "is human. Set ingest.uppercase_mouse: true in the config to use upper-cased mouse symbols "
                "as human orthologue names (approximate), or use human data"
            )
            raise InputError(msg)
        symbols = pd.Index(symbols.str.upper())
        gene_info["uppercased_mouse_symbols"] = True
    if gene_info.get("id_type") == "ensembl" and gene_info.get("mapped", 1) == 0:
        msg = (
            f"{path}: none of the {len(names)} Ensembl IDs has a gene symbol (not in "
            "resources/genes/grch38_genes.tsv and no symbol column); supply symbols in var_names or a "
            "var column 'feature_name' (or human GRCh38 Ensembl IDs)"
        )
        raise InputError(msg)
    symbols, renames = resolve_aliases(symbols)
    gene_info["aliases_renamed"] = renames
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
    return _Part(
        path=path,
        label=formats.file_label(path),
        counts=counts,
        symbols=symbols,
        obs=obs,
        info=info,
    )


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


def ingest(
    path: str | Path | Sequence[str | Path],
    *,
    dataset: str,
    sample_col: str | None = None,
    patient_col: str | None = None,
    condition_col: str | None = None,
    matrix_source: str = "auto",
    allow_non_counts: bool = False,
    uppercase_mouse: bool = False,
    min_cells: int = MIN_CELLS,
    signature_genes: Collection[str] | None = None,
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
    matrix_source
        ``"auto"`` or a forced candidate, see :func:`find_counts`.
    allow_non_counts
        Accept TPM-like data when no counts are found, see :func:`find_counts`.
    uppercase_mouse
        Accept mouse data, using upper-cased symbols as human names (otherwise refused).
    min_cells
        Fewer cells are refused (QC and clustering cannot work on them).
    signature_genes
        When given, a dataset sharing no gene with them is refused (nothing could be scored).

    Returns
    -------
    adata, summary
        The ingested AnnData and a JSON-serialisable summary.
    """
    files = _split(path)
    if not files:
        msg = "the sample sheet 'path' is empty; give a file, a 10x directory or several files separated by ','"
        raise InputError(msg)
    multi = len(files) > 1
    parts = [
        _ingest_file(
            Path(f),
            matrix_source=matrix_source,
            allow_non_counts=allow_non_counts,
            uppercase_mouse=uppercase_mouse,
        )
        for f in files
    ]
    where = Path(files[0]) if not multi else Path(",".join(files))
    if multi:
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
    else:
        counts, symbols = parts[0].counts, parts[0].symbols
    total = np.asarray(counts.sum(axis=0)).ravel()
    if not np.any(total > 0):
        msg = f"{where}: every count is zero; the file holds no expression - check the export"
        raise InputError(msg)
    n_cells = sum(p.counts.shape[0] for p in parts)
    if n_cells < min_cells:
        msg = (
            f"{where}: only {n_cells} cell(s); QC, clustering and the per-sample tests need at least "
            f"{min_cells} - supply the full dataset (ingest.min_cells sets this floor)"
        )
        raise InputError(msg)
    if signature_genes is not None:
        overlap = sorted(set(symbols) & set(signature_genes))
        if not overlap:
            shown = ", ".join(symbols[:5])
            msg = (
                f"{where}: none of the {len(symbols)} genes (e.g. {shown}) is in any signature set, so nothing "
                "can be scored; supply human gene symbols or Ensembl IDs (check the var_names / feature_name "
                "column) or a signature library matching these names (signatures.directory)"
            )
            raise InputError(msg)

    obs_parts = []
    for p in parts:
        o = pd.DataFrame(index=p.obs.index)
        sample = _obs_column(p.obs, sample_col, role="sample", path=p.path)
        patient = _obs_column(p.obs, patient_col, role="patient", path=p.path)
        condition = _obs_column(p.obs, condition_col, role="condition", path=p.path)
        default_sample = p.label if multi else dataset
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
        obs_parts.append(o)
    obs = pd.concat(obs_parts, axis=0, join="outer") if multi else obs_parts[0]
    if obs.index.has_duplicates:
        msg = f"{where}: cell barcodes repeat after prefixing with the file label; make the barcodes unique"
        raise InputError(msg)
    for col in ("sample", "patient", "condition") + (("file",) if multi else ()):
        obs[col] = pd.Categorical(obs[col].astype(str))
    if multi:
        for col in obs.columns:
            if col.startswith("orig_") and obs[col].dtype == object:
                obs[col] = obs[col].astype(str)

    counts = sp.csr_matrix(counts, dtype=np.float32)
    counts.sort_indices()
    out = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=pd.Index(symbols, name=None)))
    out.layers["counts"] = counts.copy()
    first = parts[0].info
    renames: dict[str, str] = {}
    for p in parts:
        renames.update(p.info["gene_ids"]["aliases_renamed"])
    summary = {
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
        "columns": {"sample": sample_col, "patient": patient_col, "condition": condition_col},
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
    if signature_genes is not None:
        summary["signature_genes_found"] = int(len(set(symbols) & set(signature_genes)))
    out.uns["tmesig_ingest"] = json.dumps(summary, sort_keys=True, default=str)
    return out, summary


def _split(path: str | Path | Sequence[str | Path]) -> list[str]:
    from . import formats

    return formats.split_paths(path)


def sha256sum(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file (of every file, by relative path, for a directory)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode() + b"\0")
            h.update(bytes.fromhex(sha256sum(f)))
        return h.hexdigest()
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


def fetch_url(url: str, dest: str | Path, *, sha256: str, timeout: float = 60.0) -> str:
    """Download ``url`` to ``dest``, keeping it only when its SHA-256 is ``sha256``.

    The body is written to a temporary file next to ``dest`` and renamed to ``dest`` only
    after the checksum matches; on any failure nothing is left behind.

    Parameters
    ----------
    url
        http(s) URL.
    dest
        Where the file goes.
    sha256
        Expected hex digest (required).
    timeout
        Seconds to wait for the connection and each read.

    Returns
    -------
    str
        The digest.

    Raises
    ------
    InputError
        Bad URL scheme, missing checksum, unreachable server, HTTP error or checksum mismatch,
        naming the URL, the problem and the fix.
    """
    if not re.match(r"^https?://", url, flags=re.IGNORECASE):
        msg = f"{url}: only http(s) URLs are downloaded; give an http(s) URL or a local path in the sample sheet"
        raise InputError(msg)
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256 or ""):
        msg = f"{url}: a URL needs its sha256 in the sample sheet (64 hex digits); add it to the 'sha256' column"
        raise InputError(msg)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    while block := resp.read(1 << 20):
                        h.update(block)
                        fh.write(block)
            except urllib.error.HTTPError as err:
                msg = f"{url}: the server answered HTTP {err.code} ({err.reason}); check the URL in the sample sheet"
                raise InputError(msg) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
                reason = getattr(err, "reason", err)
                msg = (
                    f"{url}: download failed, the server is unreachable ({reason}); check the URL and the "
                    "network, or download the file yourself and put its local path in the sample sheet"
                )
                raise InputError(msg) from None
        digest = h.hexdigest()
        if digest != sha256.lower():
            msg = (
                f"{url}: sha256 mismatch (sheet says {sha256.lower()}, download is {digest}); nothing was kept - "
                "check that the URL and the 'sha256' column of the sample sheet name the same file"
            )
            raise InputError(msg)
        os.replace(tmp, dest)
        return digest
    finally:
        tmp.unlink(missing_ok=True)
