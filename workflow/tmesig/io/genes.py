"""Gene identifiers and species: Ensembl IDs -> symbols, aliases, duplicated symbols, mouse.

Symbols are spelled as in ``resources/genes/grch38_genes.tsv`` (the spelling of the
signature library); ``resources/genes/aliases.tsv`` renames aliases and newer symbols to it.
Both tables are rebuilt by ``resources/genes/build_gene_tables.py``.
"""

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import paths
from .errors import InputError
from .gene_names import check_signature_overlap, clean_gene_names
from .rows import is_stream

__all__ = [
    "ALIAS_TABLE",
    "check_signature_overlap",
    "detect_species",
    "load_aliases",
    "load_gene_map",
    "map_gene_ids",
    "resolve_aliases",
    "sum_duplicate_genes",
    "var_symbols",
]

ENSEMBL_RE = re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")
MOUSE_ENSEMBL_RE = re.compile(r"^ENSMUSG\d{6,}(\.\d+)?$")
#: Mouse-style symbols: capital first letter, then lower case (``Cd3e``, ``Actb``, ``mt-Co1``).
MOUSE_SYMBOL_RE = re.compile(r"^([A-Z][a-z][a-z0-9]*(-[a-z0-9]+)?|mt-[A-Za-z0-9]+)$")
#: var columns that commonly hold gene symbols next to Ensembl ``var_names``.
SYMBOL_COLUMNS = ("feature_name", "gene_symbols", "gene_symbol", "gene_name", "symbol", "gene")
#: alias -> tmesig symbol table (see ``resources/README.md``).
ALIAS_TABLE = paths.ALIASES_TABLE


def load_gene_map(path: str | Path | None = None) -> pd.Series:
    """Ensembl gene ID (no version) → symbol, from the shipped gene table.

    Parameters
    ----------
    path
        A gene table with columns ``gene_id`` and ``gene_name`` (default
        :data:`tmesig.paths.GENE_TABLE`).

    Returns
    -------
    Series
        Symbol indexed by Ensembl ID (the first row of a repeated ID).
    """
    path = Path(path) if path is not None else paths.GENE_TABLE
    table = pd.read_csv(path, sep="\t", usecols=["gene_id", "gene_name"], dtype=str)
    table = table.dropna().drop_duplicates("gene_id")
    return pd.Series(table["gene_name"].to_numpy(), index=table["gene_id"].to_numpy())


def load_aliases(path: str | Path | None = None) -> pd.Series:
    """Alias or renamed symbol → symbol used by tmesig, from ``resources/genes/aliases.tsv``.

    Parameters
    ----------
    path
        A table with columns ``alias`` and ``symbol`` (default :data:`ALIAS_TABLE`).

    Returns
    -------
    Series
        Symbol indexed by alias (the first row of a repeated alias).
    """
    path = Path(path) if path is not None else ALIAS_TABLE
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").dropna(subset=["alias", "symbol"])
    table = table.drop_duplicates("alias")
    return pd.Series(table["symbol"].to_numpy(), index=table["alias"].to_numpy())


def detect_species(names: pd.Index) -> dict[str, Any]:
    """Guess whether gene names are mouse: Ensembl ``ENSMUSG`` IDs or ``Cd3e``-style symbols.

    Parameters
    ----------
    names
        Gene names (symbols or Ensembl IDs).

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


def _symbol_column(var: pd.DataFrame) -> tuple[np.ndarray | None, str | None]:
    """The first symbol column of ``var`` (empty, ``nan``, ``None`` entries as ``""``)."""
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
            return np.where(np.isin(sym, ["", "nan", "None"]), "", sym).astype(object), col
    return None, None


def map_gene_ids(var: pd.DataFrame, var_names: pd.Index) -> tuple[pd.Index, dict[str, Any]]:
    """Return gene symbols for ``var_names``, mapping Ensembl IDs gene by gene (offline).

    Each name that looks like an Ensembl gene ID (``ENSG...``, version suffix allowed) takes
    the symbol of a symbol column in ``var`` (``feature_name``, ``gene_symbols``...) or,
    without one (and for its empty entries), of the shipped GRCh38 table; every other name is
    a symbol and is kept. A list mixing IDs and symbols is therefore mapped too. An Ensembl
    ID without a symbol keeps its ID (version removed), so nothing is dropped;
    ``info["unmapped"]`` counts them.

    Parameters
    ----------
    var
        The ``var`` frame (its symbol columns are used for Ensembl IDs).
    var_names
        The gene names to map.

    Returns
    -------
    symbols, info
        One symbol per name and a record: ``id_type`` (``symbol``, ``ensembl`` or
        ``mixed``), ``ensembl_ids`` and ``symbols_kept`` (how many names of each kind),
        ``mapped`` / ``unmapped`` (Ensembl IDs with / without a symbol), ``symbol_source``.
    """
    names = pd.Index(var_names.astype(str))
    is_ens = np.asarray(names.str.match(ENSEMBL_RE.pattern), dtype=bool)
    n_ens = int(is_ens.sum())
    info: dict[str, Any] = {
        "fraction_ensembl": round(n_ens / len(names), 4) if len(names) else 0,
        "ensembl_ids": n_ens,
        "symbols_kept": int(len(names) - n_ens),
    }
    if n_ens == 0:
        info["id_type"] = "symbol"
        return names, info
    info["id_type"] = "ensembl" if n_ens == len(names) else "mixed"
    base = names.str.replace(r"\.\d+$", "", regex=True).to_numpy().astype(object)
    col_sym, col = _symbol_column(var)
    sym = np.asarray(names, dtype=object).copy()
    sym[is_ens] = col_sym[is_ens] if col_sym is not None else ""
    source = f"var['{col}']" if col is not None else ""
    need = is_ens & (sym == "")
    if need.any():
        sym[need] = pd.Series(base[need]).map(load_gene_map()).fillna("").to_numpy()
        table = str(paths.GENE_TABLE.relative_to(paths.REPO_ROOT))
        source = f"{source} (empty entries: gene table)" if source else table
    info["symbol_source"] = source
    unmapped = is_ens & (sym == "")
    info["unmapped"] = int(unmapped.sum())
    info["mapped"] = int(n_ens - unmapped.sum())
    sym[unmapped] = base[unmapped]
    return pd.Index(sym.astype(str)), info


def resolve_aliases(
    symbols: pd.Index, *, aliases: pd.Series | None = None
) -> tuple[pd.Index, dict[str, str]]:
    """Rename aliases and previous symbols to the symbol tmesig uses (``aliases.tsv``).

    A data symbol is renamed only when it is an alias and its tmesig symbol is not already
    among the data's symbols (the two would otherwise be different measurements under one
    name); several aliases of one gene are renamed to the same symbol and later summed.

    Parameters
    ----------
    symbols
        The data's gene symbols.
    aliases
        Alias -> symbol (default :func:`load_aliases`).

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

    Parameters
    ----------
    counts
        Cells × genes counts, in memory or a stream (:mod:`tmesig.io.rows`: the summing is
        then a step applied to each block as it is read).
    symbols
        One symbol per column (empty or missing: the column is dropped).

    Returns
    -------
    counts, symbols
        CSR counts with one column per unique symbol, in the order of first appearance.
    """
    symbols = pd.Index(symbols)
    keep = np.asarray(symbols != "") & ~pd.isna(symbols)
    sym = pd.Index(symbols[keep])
    codes, uniques = pd.factorize(sym)
    if keep.all() and len(uniques) == len(sym):
        return (counts if is_stream(counts) else sp.csr_matrix(counts)), pd.Index(uniques)
    cols = None if keep.all() else np.flatnonzero(keep)
    agg = None
    if len(uniques) != len(sym):
        agg = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.float32), (np.arange(len(codes)), codes)),
            shape=(len(codes), len(uniques)),
        )

    def summed(block):
        m = sp.csr_matrix(block)  # no copy when already CSR
        if cols is not None:
            m = m[:, cols]
        return m if agg is None else sp.csr_matrix(m @ agg)

    if is_stream(counts):
        return counts.then(summed, len(uniques)), pd.Index(uniques)
    return summed(counts), pd.Index(uniques)


def _species(var: pd.DataFrame, names: pd.Index, *, path: Path) -> dict[str, Any]:
    """Species evidence of a file's genes (:func:`detect_species` on the symbols shown).

    Mouse Ensembl IDs without a symbol column are refused (only human IDs are mapped).
    """
    sym_cols = [c for c in SYMBOL_COLUMNS if c in var.columns]
    ensembl_ids = float(np.mean(names.str.match(ENSEMBL_RE.pattern))) >= 0.5
    shown_names = pd.Index(var[sym_cols[0]].astype(str)) if ensembl_ids and sym_cols else names
    species = detect_species(shown_names)
    species["fraction_mouse_ensembl"] = detect_species(names)["fraction_mouse_ensembl"]
    if species["fraction_mouse_ensembl"] > 0.5:
        if not (ensembl_ids and sym_cols):
            msg = (
                f"{path}: the genes are mouse Ensembl IDs (ENSMUSG...); tmesig maps human IDs "
                "only. Supply mouse gene symbols in a var column 'feature_name' and set "
                "ingest.uppercase_mouse: true in the config, or use human data"
            )
            raise InputError(msg)
        species["species"] = "mouse"
    return species


def var_symbols(
    var: pd.DataFrame, *, path: str | Path, uppercase_mouse: bool = False
) -> tuple[pd.Index, dict[str, Any]]:
    """The tmesig symbol of every gene of one dataset file.

    Names are cleaned (:func:`tmesig.io.gene_names.clean_gene_names`: white space, genome
    prefixes, R's dots), Ensembl IDs are mapped (:func:`map_gene_ids`), mouse data is refused
    or upper-cased,
    and aliases are renamed (:func:`resolve_aliases`). Duplicated symbols are left for
    :func:`sum_duplicate_genes`.

    Parameters
    ----------
    var
        The ``var`` frame of the file's count matrix (its index: the file's gene names).
    path
        The file, named in error messages.
    uppercase_mouse
        Accept mouse data, using upper-cased symbols as human names (otherwise refused).

    Returns
    -------
    symbols, info
        One symbol per row of ``var`` and a JSON-serialisable record (``id_type``,
        ``species``, ``aliases_renamed``...).

    Raises
    ------
    InputError
        Mouse data without ``uppercase_mouse``, mouse Ensembl IDs without symbols, or
        Ensembl IDs none of which has a symbol.
    """
    var, cleaned = clean_gene_names(var, SYMBOL_COLUMNS)
    names = pd.Index(var.index.astype(str))
    if cleaned["genes_other_genome"] and not (names != "").any():
        msg = (
            f"{path}: every gene is of genome {', '.join(cleaned['genes_other_genome'])} (the "
            "prefix of each name), none human; the signature library is human - use human data"
        )
        raise InputError(msg)
    species = _species(var, names, path=path)
    symbols, gene_info = map_gene_ids(var, names)
    gene_info.update(cleaned)
    gene_info["species"] = species
    if species["species"] == "mouse":
        if not uppercase_mouse:
            shown = ", ".join(symbols[:5])
            msg = (
                f"{path}: the genes look like mouse (e.g. {shown}; "
                f"{species['fraction_mouse_style_symbols']:.0%} mouse-style symbols); the "
                "signature library is human. Set ingest.uppercase_mouse: true in the config to "
                "use upper-cased mouse symbols as human orthologue names (approximate), or use "
                "human data"
            )
            raise InputError(msg)
        symbols = pd.Index(symbols.str.upper())
        gene_info["uppercased_mouse_symbols"] = True
    if gene_info["fraction_ensembl"] >= 0.5 and gene_info.get("mapped", 1) == 0:
        msg = (
            f"{path}: none of the {len(names)} Ensembl IDs has a gene symbol (not in "
            "resources/genes/grch38_genes.tsv and no symbol column); supply symbols in var_names "
            "or a var column 'feature_name' (or human GRCh38 Ensembl IDs)"
        )
        raise InputError(msg)
    symbols, renames = resolve_aliases(symbols)
    gene_info["aliases_renamed"] = renames
    return symbols, gene_info
