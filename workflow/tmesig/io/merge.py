"""Stacking the files of a multi-file dataset over the genes every file measured.

A gene absent from one file was not measured there; it is not a zero. Filling it with zeros
invents a difference between files (and so between the conditions the files belong to), so
the files are merged over the **intersection** of their genes, and the genes dropped - with
the signature genes among them - are listed in the ingest summary. There is no union mode:
a missing gene cannot be masked in every downstream step.
"""

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import InputError

__all__ = ["intersect_files", "shared_genes"]

#: How many dropped genes the summary lists by name (the count is always complete).
MAX_LISTED = 2000


def intersect_files(
    matrices: Sequence[sp.csr_matrix],
    symbols: Sequence[pd.Index],
    *,
    labels: Sequence[str],
    signature_genes: Collection[str] | None = None,
) -> tuple[sp.csr_matrix, pd.Index, dict[str, Any]]:
    """Stack cells × genes matrices by rows over the genes present in every one.

    Parameters
    ----------
    matrices
        One matrix per file (unique gene columns, see
        :func:`~tmesig.io.sum_duplicate_genes`).
    symbols
        The gene symbol of each column, per file.
    labels
        The file labels (named in the record and the message).
    signature_genes
        The signature library's genes: those dropped are listed as ``library_genes_lost``.

    Returns
    -------
    counts, genes, info
        CSR float32 matrix over the shared genes (in the first file's order), the genes and
        a record: ``gene_merge`` (``"intersection"``), ``genes_union``, ``genes_dropped``,
        ``genes_dropped_list`` (sorted; at most 2000 names), ``genes_missing_per_file``,
        ``library_genes_lost`` and a ``note``.

    Raises
    ------
    InputError
        When the files share no gene.
    """
    genes, positions, info = shared_genes(symbols, labels=labels, signature_genes=signature_genes)
    blocks = [
        sp.csr_matrix(m, dtype=np.float32)[:, pos]
        for m, pos in zip(matrices, positions, strict=True)
    ]
    return sp.csr_matrix(sp.vstack(blocks)), genes, info


def shared_genes(
    symbols: Sequence[pd.Index],
    *,
    labels: Sequence[str],
    signature_genes: Collection[str] | None = None,
) -> tuple[pd.Index, list[np.ndarray], dict[str, Any]]:
    """The genes every file measured, where each file holds them, and the merge record.

    Parameters
    ----------
    symbols
        The gene symbol of each column, per file (unique within a file).
    labels
        The file labels (named in the record and the message).
    signature_genes
        The signature library's genes: those dropped are listed as ``library_genes_lost``.

    Returns
    -------
    genes, positions, info
        The shared genes (in the first file's order), per file the column of each of them,
        and the record of :func:`intersect_files`.

    Raises
    ------
    InputError
        When the files share no gene.
    """
    sets = [set(map(str, s)) for s in symbols]
    shared = set.intersection(*sets)
    union = set.union(*sets)
    genes = pd.Index([g for g in map(str, symbols[0]) if g in shared])
    if genes.empty:
        sizes = ", ".join(f"{lab}: {len(s)}" for lab, s in zip(labels, sets, strict=True))
        msg = (
            f"the files share no gene ({sizes} genes), so their cells cannot be compared; "
            "supply files annotated with the same gene identifiers (symbols or Ensembl IDs)"
        )
        raise InputError(msg)
    positions = [pd.Index(s.astype(str)).get_indexer(genes) for s in symbols]
    dropped = sorted(union - shared)
    lost = sorted(set(dropped) & set(signature_genes)) if signature_genes is not None else []
    info: dict[str, Any] = {
        "gene_merge": "intersection",
        "genes_union": len(union),
        "genes_dropped": len(dropped),
        "genes_dropped_list": dropped[:MAX_LISTED],
        "genes_missing_per_file": {
            lab: len(union - s) for lab, s in zip(labels, sets, strict=True)
        },
        "library_genes_lost": lost,
    }
    info["note"] = (
        f"the files were merged over the {len(genes)} genes measured in every file; "
        f"{len(dropped)} genes missing from at least one file were dropped (a gene not measured "
        f"is not a zero), {len(lost)} of them in the signature library"
        if dropped
        else f"every file measures the same {len(genes)} genes"
    )
    return genes, positions, info
