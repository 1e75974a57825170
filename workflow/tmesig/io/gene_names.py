"""Gene names as exports leave them, cleaned before they are mapped to symbols.

:func:`clean_gene_names` undoes what tools and spreadsheets do to gene names, so that no gene
is lost to its spelling:

- white space around a name (``'CD3E '``) is removed;
- genome prefixes of a multi-genome reference (Cell Ranger's barnyard/PDX references:
  ``GRCh38_CD3E``, ``mm10___Cd3e``) are removed from human genes, and the genes of another
  genome are dropped (the signature library is human; a note counts them);
- R's ``make.names`` turns ``-`` into ``.`` (``HLA.A``, ``MT.CO1``: the mitochondrial genes
  would go unseen by QC): a dotted name that is not a known symbol while its dashed form is,
  is renamed (only when no known dashed symbol is in the data, i.e. the names went through R);
- names a spreadsheet turned into dates (``1-Mar``, ``9-Sep``) cannot be told apart (``1-Mar``
  was MARCHF1 or MTARC1): they are kept and a note says so.

:func:`check_signature_overlap` then refuses names of which none is a signature gene, saying
what they look like (numbers: a lost index; lower-case symbols).
"""

import itertools
import re
from collections.abc import Collection
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from .errors import InputError

__all__ = ["HUMAN_GENOMES", "check_signature_overlap", "clean_gene_names", "known_symbols"]

#: Genome names of Cell Ranger references (the prefix of every gene of a multi-genome one).
_GENOME_RE = re.compile(r"^(GRCh3[78]|hg(?:19|38)|GRCm3[89]|mm(?:9|10|39))_+(?=[^_])")
HUMAN_GENOMES = frozenset({"GRCh38", "GRCh37", "hg19", "hg38"})
#: Spreadsheet dates made of gene names (MARCH*, SEPT*, DEC1...): ``1-Mar``, ``Sep-09``.
_DATE_RE = re.compile(r"^(\d{1,2}-(Mar|Sep|Dec)|(Mar|Sep|Dec)-\d{1,2})$", re.IGNORECASE)


@cache
def known_symbols() -> frozenset[str]:
    """The symbols of the shipped gene table and its aliases (see :mod:`tmesig.io.genes`)."""
    table = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name"], dtype=str)
    aliases = pd.read_csv(paths.ALIASES_TABLE, sep="\t", dtype=str, comment="#")
    return frozenset(table["gene_name"].dropna()) | frozenset(aliases["alias"].dropna())


def _strip_genomes(names: pd.Series, notes: list[str]) -> tuple[pd.Series, dict[str, int]]:
    """Remove human genome prefixes; names of another genome become ``""`` (dropped later)."""
    genome = names.str.extract(_GENOME_RE, expand=False)
    if genome.notna().mean() < 0.5:
        return names, {}
    other = genome.notna() & ~genome.isin(HUMAN_GENOMES)
    dropped = {str(k): int(v) for k, v in genome[other].value_counts().sort_index().items()}
    out = names.str.replace(_GENOME_RE, "", regex=True).where(~other, "")
    if dropped:
        shown = ", ".join(f"{v} of {k}" for k, v in dropped.items())
        notes.append(
            f"multi-genome reference: genome prefixes removed from the human genes, the genes of "
            f"other genomes dropped ({shown}); cells of another species keep only their few "
            "human counts (QC's thresholds remove most of them)"
        )
    return out, dropped


def _undotted(name: str, known: frozenset[str]) -> str | None:
    """The one known symbol ``name`` is with some of its dots read as dashes, if any."""
    dots = [i for i, c in enumerate(name) if c == "."]
    if not dots or len(dots) > 4:
        return None
    found = set()
    for k in range(1, len(dots) + 1):
        for chosen in itertools.combinations(dots, k):
            cand = "".join("-" if i in chosen else c for i, c in enumerate(name))
            if cand in known:
                found.add(cand)
    return found.pop() if len(found) == 1 else None


def _restore_dashes(names: pd.Series, notes: list[str]) -> tuple[pd.Series, int]:
    """R's ``make.names`` spelling (``HLA.A``) back to the symbol (``HLA-A``)."""
    known = known_symbols()
    values = names.to_numpy(dtype=object)
    if any("-" in n and n in known for n in values) or not any("." in n for n in values):
        return names, 0
    present = set(values)
    new = values.copy()
    for i, n in enumerate(values):
        if "." in n and n not in known:
            cand = _undotted(n, known)
            if cand is not None and cand not in present:
                new[i] = cand
    n_renamed = int((new != values).sum())
    if n_renamed:
        shown = ", ".join(
            f"{a} -> {b}"
            for a, b in zip(values[new != values][:3], new[new != values][:3], strict=True)
        )
        notes.append(
            f"{n_renamed} gene names spelled as R's make.names writes them (- as .) renamed to "
            f"their symbols (e.g. {shown})"
        )
    return pd.Series(new, index=names.index, dtype=object), n_renamed


def clean_gene_names(
    var: pd.DataFrame, columns: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``var`` with its index and symbol ``columns`` cleaned (see the module docstring).

    Parameters
    ----------
    var
        The ``var`` frame of a file's count matrix (its index: the file's gene names).
    columns
        The ``var`` columns that may hold symbols (cleaned like the index).

    Returns
    -------
    var, info
        A cleaned copy (names of another genome are ``""``) and a record: ``notes`` (for the
        summary), ``genes_other_genome`` (genome -> genes dropped), ``names_undotted``,
        ``names_like_dates``.
    """
    notes: list[str] = []
    info: dict[str, Any] = {}
    var = var.copy()
    index = pd.Series(var.index.astype(str), dtype=object).str.strip()
    index, info["genes_other_genome"] = _strip_genomes(index, notes)
    for col in [c for c in columns if c in var.columns]:
        text = var[col].astype(object).where(var[col].notna(), "").astype(str).str.strip()
        text = pd.Series(text.to_numpy(), dtype=object)
        var[col] = _strip_genomes(text, [])[0].where(index != "", "").to_numpy()
    index, info["names_undotted"] = _restore_dashes(index, notes)
    dates = index[index.str.match(_DATE_RE)]
    info["names_like_dates"] = int(len(dates))
    if len(dates):
        notes.append(
            f"{len(dates)} gene names look turned into dates by a spreadsheet (e.g. "
            f"{', '.join(dates[:3])}): their genes (MARCHF*, SEPTIN*, DELEC1...) cannot be told "
            "apart and are kept under those names; export the data without a spreadsheet"
        )
    var.index = pd.Index(index.to_numpy(dtype=object).astype(str), name=None)
    info["notes"] = notes
    return var, info


def check_signature_overlap(
    symbols: pd.Index,
    *,
    signature_genes: Collection[str],
    where: str | Path,
    var_columns: Collection[str] = (),
) -> None:
    """Refuse genes none of which is a signature gene, saying what the names look like.

    Parameters
    ----------
    symbols
        The dataset's gene symbols after mapping.
    signature_genes
        The signature library's genes.
    where
        The dataset's path(s), named in the message.
    var_columns
        The ``var`` columns of the file(s), offered as sources of gene names.

    Raises
    ------
    InputError
        When no symbol is a signature gene; numeric names (an exported row index) get their
        own message.
    """
    if set(symbols) & set(signature_genes):
        return
    shown = ", ".join(map(str, symbols[:5]))
    if len(symbols) and np.mean(pd.Index(symbols).astype(str).str.fullmatch(r"\d+(\.\d+)?")) > 0.5:
        cols = ", ".join(var_columns) or "none"
        msg = (
            f"{where}: the gene names are numbers (e.g. {shown}): the file lost its gene "
            "identifiers on export (var_names are a row index), so nothing can be scored; "
            "write the gene symbols or Ensembl IDs into var_names (e.g. adata.var_names = "
            f"adata.var['<column>'], var columns here: {cols}) and save the file again"
        )
        raise InputError(msg)
    upper = set(pd.Index(symbols).astype(str).str.upper()) & set(signature_genes)
    if len(upper) >= 3 and np.mean(pd.Index(symbols).astype(str).str.islower()) > 0.5:
        msg = (
            f"{where}: the gene names are lower-case (e.g. {shown}), so none is a signature "
            f"gene; upper-cased, {len(upper)} are. If these are human genes, upper-case them "
            "(adata.var_names = adata.var_names.str.upper()) and save the file again; mouse "
            "genes: see ingest.uppercase_mouse; other species cannot be scored"
        )
        raise InputError(msg)
    msg = (
        f"{where}: none of the {len(symbols)} genes (e.g. {shown}) is in any signature "
        "set, so nothing can be scored; supply human gene symbols or Ensembl IDs as var_names "
        "(with Ensembl IDs, symbols are also read from a var column such as 'feature_name') "
        "or a signature library matching these names (signatures.directory)"
    )
    raise InputError(msg)
