"""Rebuild ``grch38_genes.tsv`` and the derived rows of ``aliases.tsv`` from their sources.

The sources are shipped gzipped in ``resources/genes/source/`` (provenance in
``resources/README.md``):

- ``grch38_genes.inferploidy.tsv.gz`` - the Ensembl GRCh38 gene table of ``inferploidy``;
- ``gencode_v44_id2name.csv.gz`` - GENCODE v44 Ensembl ID -> gene name (``celltypist``).

``grch38_genes.tsv`` is the source table with the clone-based placeholder names of
protein-coding genes replaced by their GENCODE v44 symbol (:func:`name_placeholders`);
``aliases.tsv`` is its curated rows (kept as they are) followed by one row per GENCODE v44
rename (:func:`derive_renames`). Run from the repository root::

    python resources/genes/build_gene_tables.py           # rewrite both tables
    python resources/genes/build_gene_tables.py --check   # exit 1 if they differ
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workflow"))

import pandas as pd
from tmesig import paths
from tmesig.io.genes import ENSEMBL_RE

#: Clone-based placeholder names of unnamed genes (AC092338.1, RP11-34P13.7, CTD-2201I18.1).
CLONE_NAME_RE = re.compile(r"^([A-Z]{1,2}\d{5,6}\.\d+|RP\d+-.*|CT[ABCD]-.*|XX[a-z]*-.*)$")
#: ``source`` of the derived rows of ``aliases.tsv`` (followed by the Ensembl ID).
DERIVED_SOURCE = "GENCODE v44 name of "


def derive_renames(gene_table: str | Path, gencode: str | Path) -> pd.DataFrame:
    """Symbols renamed since the gene table's Ensembl release, from a newer GENCODE id → name list.

    A rename is an Ensembl gene whose name in ``gencode`` differs from its name in the gene
    table, where the new name is not itself a symbol of the table (it would be ambiguous),
    names only one table gene, and the table name is not a clone-based placeholder (renaming
    ``MCAM`` to ``AP002956.1`` would hide a known gene). This is how the derived rows of
    ``aliases.tsv`` are made.

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

    The source table comes from an Ensembl release in which a few well-known genes were
    named after a genomic clone (TGFB1 = ``AC011462.1``, PER1 = ``AC129492.1``, MCAM,
    TCL1A, RNF213, ...). A row is renamed to its ``gencode`` symbol when the table name
    matches the clone pattern, the biotype is ``protein_coding``, the new name is neither
    a clone name nor an Ensembl ID, is not already a table symbol, and names exactly one
    Ensembl gene of the table.

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


def build_gene_table(source: str | Path, gencode: str | Path) -> pd.DataFrame:
    """The shipped gene table: ``source`` with its placeholder names replaced.

    Parameters
    ----------
    source
        The inferploidy gene table (``paths.GENE_TABLE_SOURCE``).
    gencode
        GENCODE v44 id -> name (``paths.GENCODE_V44``).

    Returns
    -------
    DataFrame
        Every row and column of ``source``, as text, with the names of
        :func:`name_placeholders` replaced.
    """
    table = pd.read_csv(source, sep="\t", dtype=str, keep_default_na=False)
    renames = name_placeholders(source, gencode)
    new_name = table["gene_id"].map(dict(zip(renames["gene_id"], renames["symbol"], strict=True)))
    table["gene_name"] = new_name.fillna(table["gene_name"])
    return table


def build_aliases(
    gene_table: str | Path, gencode: str | Path, aliases: str | Path | pd.DataFrame
) -> pd.DataFrame:
    """The alias table: the curated rows of ``aliases``, then the GENCODE renames.

    Parameters
    ----------
    gene_table
        The shipped gene table (as built by :func:`build_gene_table`).
    gencode
        GENCODE v44 id -> name.
    aliases
        The current ``aliases.tsv`` (path or table); its rows whose ``source`` does not
        start with ``GENCODE`` are the curated ones, kept first and in order.

    Returns
    -------
    DataFrame
        Columns ``alias``, ``symbol``, ``source``; a derived alias that is also curated is
        left out.
    """
    table = (
        aliases
        if isinstance(aliases, pd.DataFrame)
        else pd.read_csv(aliases, sep="\t", dtype=str, keep_default_na=False)
    )
    curated = table[~table["source"].str.startswith("GENCODE")]
    derived = derive_renames(gene_table, gencode)
    derived = derived[~derived["alias"].isin(set(curated["alias"]))]
    rows = pd.DataFrame(
        {
            "alias": derived["alias"],
            "symbol": derived["symbol"],
            "source": DERIVED_SOURCE + derived["gene_id"],
        }
    )
    return pd.concat([curated, rows], ignore_index=True)


def _tsv(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep="\t", index=False, lineterminator="\n")


def rebuild(
    out_dir: str | Path,
    *,
    source: str | Path = paths.GENE_TABLE_SOURCE,
    gencode: str | Path = paths.GENCODE_V44,
    aliases: str | Path = paths.ALIASES_TABLE,
) -> tuple[Path, Path]:
    """Write ``grch38_genes.tsv`` and ``aliases.tsv`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Where the two tables go (``resources/genes`` to update the shipped ones).
    source, gencode
        The source gene table and GENCODE v44 id -> name list.
    aliases
        The alias table whose curated rows are kept (read before anything is written).

    Returns
    -------
    gene_table, aliases
        The paths written.
    """
    out_dir = Path(out_dir)
    genes_path = out_dir / paths.GENE_TABLE.name
    aliases_path = out_dir / paths.ALIASES_TABLE.name
    curated_from = pd.read_csv(aliases, sep="\t", dtype=str, keep_default_na=False)
    genes_path.write_text(_tsv(build_gene_table(source, gencode)))
    aliases_path.write_text(_tsv(build_aliases(genes_path, gencode, curated_from)))
    return genes_path, aliases_path


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped tables, or with ``--check`` exit 1 when a rebuild differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=paths.GENE_TABLE_SOURCE)
    parser.add_argument("--gencode", type=Path, default=paths.GENCODE_V44)
    parser.add_argument("--aliases", type=Path, default=paths.ALIASES_TABLE, help="curated rows")
    parser.add_argument("--out-dir", type=Path, default=paths.GENE_TABLE.parent)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args(argv)
    shipped = (args.out_dir / paths.GENE_TABLE.name, args.out_dir / paths.ALIASES_TABLE.name)
    if not args.check:
        written = rebuild(
            args.out_dir, source=args.source, gencode=args.gencode, aliases=args.aliases
        )
        print("wrote " + " and ".join(map(str, written)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        built = rebuild(tmp, source=args.source, gencode=args.gencode, aliases=args.aliases)
        stale = [
            old
            for old, new in zip(shipped, built, strict=True)
            if not old.exists() or old.read_bytes() != new.read_bytes()
        ]
    for p in stale:
        print(f"{p}: differs from its rebuild", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
