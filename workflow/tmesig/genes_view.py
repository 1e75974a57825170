"""Genes shown as genes: per-gene expression by compartment, at the lineage and state level.

A checkpoint gene (CD274, LAG3...) is one gene, not a signature, and a set whose genes live
in different compartments (``nt5e_adenosine``: NT5E on tumour cells, CD38/ENTPD1 on immune
cells) averages parts that can cancel out. :func:`gene_table` therefore reports, per
compartment (``level`` ``lineage``: the annotation's ``compartment``; ``level`` ``state``:
its ``state``, with the state's ``parent`` lineage), the genes of

* every design-card item (:func:`tmesig.signatures.card_genes`);
* every set not scored because too few of its genes were found (``coverage.tsv``), so that a
  one- or two-gene "set" is still shown, gene by gene;
* every set whose genes span compartments, found from the data (:func:`spanning_sets`):
  each gene's *home* is the lineage where its mean is highest (if at least ``min_fraction``
  of that lineage's cells express it); a set of at most ``max_set_genes`` genes spans
  compartments when two of its genes have different homes and each is at least
  ``min_fold`` times lower in the other's home. (Larger sets are programmes, read as scores.)

The matrix is read in chunks of cells (backed h5ad), only the chosen genes' columns kept.
Genes absent from the data are rows with ``measured`` false and no values: not measured,
never zero (targeted panels lack most genes). ``unassigned`` cells are not a compartment.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .constants import (
    COL_COMPARTMENT,
    COL_LEVEL,
    COL_PARENT,
    COL_STATE,
    LEVEL_LINEAGE,
    LEVEL_STATE,
    LINEAGES,
)
from .gene_groups import cell_groups, group_gene_stats, level_keys
from .score._chunks import DEFAULT_CHUNK
from .signatures import GeneSet, card_genes

__all__ = ["GeneViewOptions", "gene_table", "genes_to_measure", "spanning_sets"]

#: Columns of :func:`gene_table`, in order.
COLUMNS = (
    COL_LEVEL,
    COL_COMPARTMENT,
    COL_PARENT,
    "gene",
    "measured",
    "sets",
    "shown_for",
    "home_lineage",
    "n_cells",
    "mean",
    "fraction_expressing",
    "n_patients",
    "mean_of_patient_means",
    "sd_of_patient_means",
    "note",
)
_SPANS = "set spans lineages: "
_FEW = "set not scored (too few genes): "
NOT_MEASURED = "not measured: the gene is absent from this dataset (no value, not zero)"
_KEYS = ("min_cells", "min_fraction", "max_set_genes", "min_fold")


@dataclass(frozen=True)
class GeneViewOptions:
    """Options of :func:`gene_table`.

    Attributes
    ----------
    min_cells : int
        Cells a patient needs in a compartment for its mean to count in ``n_patients`` and
        ``mean_of_patient_means``.
    min_fraction : float
        Fraction of a lineage's cells that must express a gene for the lineage to be its home.
    max_set_genes : int
        Sets with more genes are not split into genes (read them as scores).
    min_fold : float
        How much lower two genes of a spanning set must each be in the other's home lineage.
    chunk_size : int
        Cells read at a time.
    """

    min_cells: int = 10
    min_fraction: float = 0.1
    max_set_genes: int = 12
    min_fold: float = 3.0
    chunk_size: int = DEFAULT_CHUNK

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "GeneViewOptions":
        """Options from the config's ``genes`` section (missing keys keep their default)."""
        return cls(**{k: section[k] for k in _KEYS if k in section})


def genes_to_measure(
    library: Sequence[GeneSet], *, coverage: pd.DataFrame | None, max_set_genes: int
) -> dict[str, list[str]]:
    """The candidate genes and why each is considered, before looking at the data.

    Parameters
    ----------
    library
        The gene sets.
    coverage
        ``coverage.tsv`` (``set``, ``scored``, ``reason``); its sets not scored for too few
        genes (``min_genes``) are shown gene by gene. ``None``: none.
    max_set_genes
        Sets of at most this many genes are candidates for spanning compartments.

    Returns
    -------
    dict
        Gene -> reasons (``"card gene"``, ``"set not scored (too few genes): <set>"``) in a
        deterministic order: card genes first, then the others sorted; genes of small sets
        carry no reason yet (:func:`spanning_sets` decides).
    """
    out: dict[str, list[str]] = {g: ["card gene"] for g in card_genes(library)}
    few = set()
    if coverage is not None and len(coverage):
        reason = coverage["reason"].fillna("").astype(str)
        mask = ~coverage["scored"].astype(bool) & reason.str.contains("min_genes")
        few = set(coverage.loc[mask, "set"].astype(str))
    extra: dict[str, list[str]] = {}
    for gs in library:
        if gs.name in few:
            for g in gs.genes:
                (out if g in out else extra).setdefault(g, []).append(f"{_FEW}{gs.name}")
        elif len(gs.genes) <= max_set_genes:
            for g in gs.genes:
                if g not in out:
                    extra.setdefault(g, [])
    return {**out, **{g: extra[g] for g in sorted(extra)}}


def spanning_sets(
    lineage_rows: pd.DataFrame,
    library: Sequence[GeneSet],
    *,
    min_fraction: float,
    max_set_genes: int,
    min_fold: float = 3.0,
) -> tuple[dict[str, str], list[str]]:
    """Each gene's home lineage, and the sets whose genes live in different lineages.

    A gene's home is the lineage where its mean is highest, if at least ``min_fraction`` of
    that lineage's cells express it. A set spans lineages when two of its genes, a and b,
    have different homes A and B and each is at least ``min_fold`` times lower in the
    other's home (mean of a in B <= mean of a in A / ``min_fold``, and the same for b):
    averaged into one score, the two would pull in opposite directions between A and B.

    Parameters
    ----------
    lineage_rows
        Lineage-level rows of the gene table (``compartment``, ``gene``, ``mean``,
        ``fraction_expressing``).
    library
        The gene sets.
    min_fraction
        A lineage is a gene's home only if at least this fraction of its cells express it.
    max_set_genes
        Larger sets are not considered.
    min_fold
        How much lower each gene must be in the other gene's home.

    Returns
    -------
    homes, sets
        ``{gene: home lineage}`` for the genes that have one; names of the spanning sets, in
        library order.
    """
    means = lineage_rows.pivot_table(
        index="gene", columns=COL_COMPARTMENT, values="mean", aggfunc="first"
    )
    rows = lineage_rows[lineage_rows["fraction_expressing"] >= min_fraction]
    rows = rows.sort_values(["gene", "mean", COL_COMPARTMENT], ascending=[True, False, True])
    homes = rows.drop_duplicates("gene").set_index("gene")[COL_COMPARTMENT].to_dict()

    def apart(a: str, b: str) -> bool:
        ha, hb = homes[a], homes[b]
        return bool(
            ha != hb
            and means.at[a, hb] * min_fold <= means.at[a, ha]
            and means.at[b, ha] * min_fold <= means.at[b, hb]
        )

    span = []
    for gs in library:
        genes = [g for g in dict.fromkeys(gs.genes) if g in homes]
        if len(gs.genes) <= max_set_genes and any(
            apart(a, b) for i, a in enumerate(genes) for b in genes[i + 1 :]
        ):
            span.append(gs.name)
    return homes, span


def _reason_text(reasons: list[str]) -> str:
    """``card gene; set spans lineages: a, b`` from the reasons, each kind once."""
    kinds: dict[str, list[str]] = {}
    for r in dict.fromkeys(reasons):
        head, _, name = r.partition(": ")
        kinds.setdefault(head, []).append(name)
    return "; ".join(f"{k}: {', '.join(v)}" if v[0] else k for k, v in kinds.items())


def _order(table: pd.DataFrame, genes: list[str]) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(LINEAGES)}
    gene_rank = {g: i for i, g in enumerate(genes)}
    key = pd.DataFrame(
        {
            "level": table[COL_LEVEL].map({LEVEL_LINEAGE: 0, LEVEL_STATE: 1}),
            "parent": table[COL_PARENT].map(rank).fillna(len(rank)),
            "comp": table[COL_COMPARTMENT],
            "gene": table["gene"].map(gene_rank),
        }
    )
    order = key.sort_values(["level", "parent", "comp", "gene"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def gene_table(
    adata: ad.AnnData,
    library: Sequence[GeneSet],
    *,
    annotation: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    options: GeneViewOptions | None = None,
) -> pd.DataFrame:
    """Per compartment (lineage and state level) x gene: mean, fraction expressing, spread.

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` (in memory or backed), symbols as ``var_names``,
        ``obs`` ``patient`` (else ``sample``; else one patient).
    library
        The gene sets (card items, sets and their genes).
    annotation
        ``annotation.tsv`` indexed by cell: ``compartment`` (lineage) and, when the state
        stage ran, ``state`` and ``parent``; without ``state`` only the lineage level is made.
    coverage
        ``coverage.tsv``: sets not scored for too few genes are shown gene by gene.
    options
        :class:`GeneViewOptions`.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per level x compartment x gene (unmeasured genes: one row per
        compartment, ``measured`` false, values empty, ``note`` says so). Empty (the columns
        only) when no cell is in a compartment or no gene is shown.
    """
    opts = options or GeneViewOptions()
    candidates = genes_to_measure(library, coverage=coverage, max_set_genes=opts.max_set_genes)
    present = set(adata.var_names)
    measured = [g for g in candidates if g in present]
    groups = cell_groups(adata, annotation)
    levels = [LEVEL_LINEAGE] + ([LEVEL_STATE] if COL_STATE in annotation else [])
    keys = [COL_LEVEL, COL_COMPARTMENT, COL_PARENT]
    comps = pd.concat([level_keys(groups, lv)[keys] for lv in levels]).drop_duplicates()
    comps = comps.reset_index(drop=True)
    table = group_gene_stats(
        adata,
        measured,
        groups=groups,
        levels=levels,
        min_cells=opts.min_cells,
        chunk_size=opts.chunk_size,
    )
    homes, span = spanning_sets(
        table[table[COL_LEVEL] == LEVEL_LINEAGE],
        library,
        min_fraction=opts.min_fraction,
        max_set_genes=opts.max_set_genes,
        min_fold=opts.min_fold,
    )
    reasons = {g: list(r) for g, r in candidates.items()}
    for gs in library:
        if gs.name in span:
            for g in gs.genes:
                reasons[g].append(f"{_SPANS}{gs.name}")
    shown = [g for g in candidates if reasons[g]]
    absent = [g for g in shown if g not in present]
    missing = comps.loc[comps.index.repeat(len(absent))].assign(
        gene=np.tile(absent, len(comps)), note=NOT_MEASURED
    )
    table = table[table["gene"].isin(shown)].assign(note="")
    table = pd.concat([table, missing], ignore_index=True)
    if table.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    table["measured"] = table["gene"].isin(present)
    in_sets = {g: sorted(gs.name for gs in library if g in gs.genes) for g in shown}
    table["sets"] = table["gene"].map(lambda g: ",".join(in_sets[g]))
    table["shown_for"] = table["gene"].map(lambda g: _reason_text(reasons[g]))
    for col in ("n_cells", "n_patients"):
        table[col] = table[col].astype("Int64")
    table["home_lineage"] = table["gene"].map(homes).fillna("")
    return _order(table[list(COLUMNS)], shown)
