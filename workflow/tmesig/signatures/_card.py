"""Genes shown one by one: the nine design-card items (which set implements each, which genes
it must hold) and the genes of gene-level sets."""

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from ._geneset import GeneSet

__all__ = ["CARD_ITEMS", "CardItem", "card_genes", "gene_level_genes"]


class CardItem(NamedTuple):
    """A design-card requirement: the set that must exist and genes it must contain.

    Attributes
    ----------
    set_name : str
        Name (file stem) of the gene set implementing the card item.
    genes : tuple of str
        Genes the set must contain (symbols as spelled in the gene table).
    named_gene : str or None
        The one gene the item is named after (PD-L1 -> ``CD274``), shown in the report's
        card-gene dotplot; ``None`` for programme items (IFN-gamma response, circadian
        rhythm), which the report shows through their scores.
    """

    set_name: str
    genes: tuple[str, ...]
    named_gene: str | None = None


#: The nine design-card items -> required set name and required genes.
#: BMAL1 is spelled ARNTL and STING1 TMEM173 in ``resources/genes/grch38_genes.tsv``.
CARD_ITEMS: Mapping[str, CardItem] = MappingProxyType(
    {
        "PD-L1 (CD274) with PD-L2": CardItem("cd274_pdl1", ("CD274", "PDCD1LG2"), "CD274"),
        "CD73 (NT5E) adenosine axis": CardItem(
            "nt5e_adenosine", ("NT5E", "ENTPD1", "ADORA2A"), "NT5E"
        ),
        "LAG-3 with FGL1": CardItem("lag3_fgl1", ("LAG3", "FGL1"), "LAG3"),
        "TIM-3 (HAVCR2) and its ligands": CardItem(
            "havcr2_tim3", ("HAVCR2", "LGALS9", "CEACAM1", "HMGB1"), "HAVCR2"
        ),
        "TIGIT with CD155/CD112": CardItem("tigit_pvr", ("TIGIT", "PVR", "NECTIN2"), "TIGIT"),
        "xCT (SLC7A11)": CardItem("slc7a11_xct", ("SLC7A11",), "SLC7A11"),
        "B2M and MHC-I antigen presentation": CardItem(
            "b2m_mhc1_apm", ("B2M", "HLA-A", "HLA-B", "HLA-C", "TAP1", "TAP2", "TAPBP"), "B2M"
        ),
        "IFN-gamma response (JAK1/JAK2)": CardItem(
            "ifng_jak_stat", ("IFNGR1", "IFNGR2", "JAK1", "JAK2", "STAT1")
        ),
        "Circadian rhythm disruption": CardItem(
            "circadian_crd",
            ("CLOCK", "ARNTL", "PER1", "PER2", "PER3", "CRY1", "CRY2", "NR1D1", "CCND1"),
        ),
    }
)


def card_genes(library: Iterable[GeneSet]) -> list[str]:
    """The genes the report's card dotplot shows, one per card item of the library.

    Parameters
    ----------
    library : iterable of GeneSet
        The loaded library (see :func:`load_library`).

    Returns
    -------
    list of str
        In :data:`CARD_ITEMS` order, the ``named_gene`` of every item whose set is in
        ``library`` with ``card: true`` and contains that gene. For the shipped library:
        ``CD274, NT5E, LAG3, HAVCR2, TIGIT, SLC7A11, B2M``.
    """
    card_sets = {s.name: s for s in library if s.card}
    out = []
    for item in CARD_ITEMS.values():
        gene_set = card_sets.get(item.set_name)
        if item.named_gene and gene_set is not None and item.named_gene in gene_set.genes:
            out.append(item.named_gene)
    return out


def gene_level_genes(library: Iterable[GeneSet]) -> dict[str, tuple[str, ...]]:
    """The genes of the gene-level sets (``gene_level: true``), to be shown one by one.

    A gene-level set has too few genes to be scored as a set (the 2-gene card items
    PD-L1/PD-L2, LAG-3/FGL1 and xCT, the published 2-gene CYT of Rooney et al.); its genes
    go to the per-gene table and dotplot instead, so that no set is silently lost.

    Parameters
    ----------
    library : iterable of GeneSet
        The loaded library (see :func:`load_library`).

    Returns
    -------
    dict of str to tuple of str
        Gene -> the gene-level sets holding it (sorted), genes in library order.
    """
    out: dict[str, list[str]] = {}
    for gene_set in library:
        if gene_set.gene_level:
            for gene in gene_set.genes:
                out.setdefault(gene, []).append(gene_set.name)
    return {gene: tuple(sorted(names)) for gene, names in out.items()}
