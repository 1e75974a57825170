"""The simulated cell types and what the subset markers say about their genes."""

from dataclasses import dataclass

from ..subsets import load_subset_markers

__all__ = ["CELL_TYPES", "CellType", "subset_genes", "subset_plan"]


@dataclass(frozen=True)
class CellType:
    """A simulated cell type.

    Parameters
    ----------
    name : str
        Cell-type name (``obs["cell_type"]``).
    compartment : str
        Its compartment (a key of :func:`tmesig.annotate.load_markers`).
    identity : tuple of str
        Extra identity genes raised in this type.
    weight : float
        Mean share of cells.
    subsets : tuple of str
        Subsets of ``resources/markers/subsets.yaml`` (:func:`tmesig.subsets.load_subset_markers`)
        the type belongs to (a root and optionally one of its children): their genes are
        raised, their ``negative`` genes and their siblings' specific genes silenced.
    base : str, optional
        For a refined state (:data:`tmesig.simulate.STATE_TYPES`): the type it refines;
        programs planted in the base apply to it.
    """

    name: str
    compartment: str
    identity: tuple[str, ...]
    weight: float
    subsets: tuple[str, ...] = ()
    base: str | None = None


#: Cell types with their compartments, identity genes and mean proportions.
CELL_TYPES: tuple[CellType, ...] = (
    CellType("CD8_T", "T_NK", ("CD8A", "CD8B", "GZMK", "CCL5"), 0.14, ("CD8_T",)),
    CellType("CD4_T", "T_NK", ("CD4", "IL7R", "CCR7"), 0.12, ("CD4_T", "CD4_conventional")),
    CellType("Treg", "T_NK", ("FOXP3", "IL2RA", "CTLA4", "TNFRSF18"), 0.04, ("CD4_T", "Treg")),
    CellType("NK", "T_NK", ("NCAM1", "KLRC1"), 0.04, ("NK",)),
    CellType("B", "B_plasma", ("MS4A1", "CD19", "BANK1"), 0.06, ("B_cell",)),
    CellType("plasma", "B_plasma", ("MZB1", "JCHAIN", "TNFRSF17"), 0.03, ("plasma_cell",)),
    CellType("macrophage", "myeloid", ("CD163", "C1QA", "APOE"), 0.12, ("macrophage",)),
    CellType("monocyte", "myeloid", ("CD14", "LYZ", "FCN1"), 0.05, ("classical_monocyte",)),
    CellType("mast", "mast", ("TPSAB1", "CPA3"), 0.02, ("mast_cell",)),
    CellType("fibroblast", "fibroblast", ("DCN", "LUM", "COL1A2"), 0.10, ("CAF",)),
    CellType(
        "endothelial", "endothelial", ("PECAM1", "VWF", "CDH5"), 0.07, ("tumour_endothelium",)
    ),
    CellType("malignant", "epithelial", ("EPCAM", "KRT8", "KRT18"), 0.21),
)


def subset_genes() -> list[str]:
    """All genes (positive and negative) of the subset marker file, sorted."""
    markers = load_subset_markers()
    return sorted({g for s in markers.subsets for g in (*s.genes, *s.negative)})


def subset_plan(ct: CellType) -> tuple[list[str], list[str], list[str]]:
    """Genes to raise, to cap (siblings' specific genes) and to silence (negatives) for ``ct``.

    ``raise``: genes of the type's subsets (the root and child it belongs to). ``cap``: genes
    of the sibling subsets at each level (other roots of the lineage; other children of the
    type's root) that none of the type's subsets lists. ``silence``: the ``negative`` genes
    of the type's subsets (e.g. CD3D/CD3E/CD3G/TRAC for NK, MS4A1 for plasma cells).
    """
    if not ct.subsets:
        return [], [], []
    markers = load_subset_markers()
    by = {s.name: s for s in markers.subsets}
    unknown = [n for n in ct.subsets if n not in by]
    if unknown:  # pragma: no cover - guarded by tests on the shipped files
        msg = f"cell type {ct.name!r}: unknown subset(s) {unknown} in subsets.yaml."
        raise ValueError(msg)
    own = [by[n] for n in ct.subsets]
    raised = list(dict.fromkeys(g for s in own for g in s.genes))
    silence = list(dict.fromkeys(g for s in own for g in s.negative))
    siblings = []
    for s in own:
        pool = (
            [x for x in markers.of_lineage(s.lineage) if x.parent is None]
            if s.parent is None
            else markers.children(s.parent)
        )
        siblings += [x for x in pool if x.name not in ct.subsets]
    own_genes = set(raised)
    cap = list(dict.fromkeys(g for x in siblings for g in x.genes if g not in own_genes))
    return raised, cap, silence
