"""Gene positions (chromosome, start, end) from the shipped GRCh38 gene table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tmesig import paths
from tmesig.io.errors import InputError

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["PRIMARY_CHROMOSOMES", "add_gene_positions"]

#: Chromosomes kept when reading the gene table.
PRIMARY_CHROMOSOMES: tuple[str, ...] = tuple(f"chr{i}" for i in range(1, 23)) + ("chrX", "chrY")


def add_gene_positions(
    adata: ad.AnnData,
    *,
    gene_table: str | Path | None = None,
    overwrite: bool = False,
) -> int:
    """Write ``chromosome``, ``start``, ``end`` into ``adata.var`` from the gene table.

    Parameters
    ----------
    adata
        ``var_names`` are gene symbols (matched to ``gene_name``; if none match, to
        ``gene_id`` for Ensembl-indexed data).
    gene_table
        TSV with columns ``gene_id, gene_name, chrom, start, end``; default
        ``resources/genes/grch38_genes.tsv`` (GENCODE / Ensembl GRCh38).
    overwrite
        Replace existing ``chromosome``/``start``/``end`` columns (default: keep them when
        present, as for data that ship their own positions).

    Returns
    -------
    int
        Number of genes with a position.

    Raises
    ------
    InputError
        If the table lacks the needed columns or fewer than 100 genes get a position.
    """
    if not overwrite and {"chromosome", "start", "end"} <= set(adata.var.columns):
        return int(adata.var["chromosome"].notna().sum())
    path = Path(paths.GENE_TABLE if gene_table is None else gene_table)
    table = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    need = {"gene_id", "gene_name", "chrom", "start", "end"}
    if not need <= set(table.columns):
        msg = (
            f"Gene table {path} lacks columns {sorted(need - set(table.columns))}; "
            "use grch38_genes.tsv."
        )
        raise InputError(msg)
    table = table[table["chrom"].isin(PRIMARY_CHROMOSOMES)]
    key = "gene_name"
    if not adata.var_names.isin(table["gene_name"]).any():
        key = "gene_id"
    table = table.drop_duplicates(key, keep="first").set_index(key)
    pos = table.reindex(adata.var_names.astype(str))
    adata.var["chromosome"] = pos["chrom"].to_numpy()
    adata.var["start"] = pos["start"].to_numpy()
    adata.var["end"] = pos["end"].to_numpy()
    n = int(pos["chrom"].notna().sum())
    if n < 100:
        msg = (
            f"Only {n} of {adata.n_vars} genes have a position in {path}; var_names must be "
            "HGNC symbols or Ensembl gene ids."
        )
        raise InputError(msg)
    return n
