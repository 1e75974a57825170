"""Names shared across tmesig: lineages, compartments, directions, cell-metadata columns.

Every module, JSON schema and figure takes these names from here;
``tests/unit/test_constants.py`` checks that the schemas' enums equal them.
"""

from types import MappingProxyType

__all__ = [
    "ANY",
    "COL_COMPARTMENT",
    "COL_CONDITION",
    "COL_LEVEL",
    "COL_PARENT",
    "COL_STATE",
    "COL_PATIENT",
    "COL_SAMPLE",
    "DIRECTIONS",
    "DIRECTION_SIGN",
    "LEVELS",
    "LEVEL_LINEAGE",
    "LEVEL_STATE",
    "LINEAGES",
    "MALIGNANT",
    "NORMAL_EPITHELIUM",
    "SET_CATEGORIES",
    "SET_CATEGORY_LABELS",
    "SET_COMPARTMENTS",
    "UNASSIGNED",
    "direction_sign",
]

#: Lineage-level TME compartments, in tie-breaking order.
LINEAGES: tuple[str, ...] = (
    "T_NK",
    "B_plasma",
    "myeloid",
    "mast",
    "neutrophil",
    "fibroblast",
    "endothelial",
    "epithelial",
)
#: Label of cells, clusters or subsets without a confident call.
UNASSIGNED = "unassigned"
#: Epithelial cells with inferred copy-number changes.
MALIGNANT = "malignant"
#: Epithelial cells without inferred copy-number changes (the other epithelial state).
NORMAL_EPITHELIUM = "normal_epithelium"
#: A gene set that applies to every compartment.
ANY = "any"
#: The compartments every gene set's ``compartments`` field may name; a set may also name
#: the cell states of the run's subsets markers file (``CD8_exhausted``, ``CAF``...), which
#: ``tmesig.signatures.check_set_compartments`` checks where that file is known.
SET_COMPARTMENTS: tuple[str, ...] = (*LINEAGES, MALIGNANT, NORMAL_EPITHELIUM, ANY)

#: Mechanism classes a gene set belongs to (its ``category``), in the order figures group them;
#: the sensitivity side (immune infiltration) last.
SET_CATEGORIES: tuple[str, ...] = (
    "checkpoint",
    "antigen_presentation_ifn",
    "t_cell_dysfunction",
    "suppressive_cells",
    "metabolism_hypoxia",
    "stroma_vessels",
    "tumour_intrinsic",
    "immune_infiltration",
)
#: Plain-language label of each category (figure and report headings).
SET_CATEGORY_LABELS = MappingProxyType(
    {
        "checkpoint": "Checkpoint ligands and receptors",
        "antigen_presentation_ifn": "Antigen presentation and IFN-γ sensing",
        "t_cell_dysfunction": "T-cell dysfunction",
        "suppressive_cells": "Suppressive immune cells",
        "metabolism_hypoxia": "Metabolism and hypoxia",
        "stroma_vessels": "Stroma and vessels",
        "tumour_intrinsic": "Tumour-intrinsic signalling",
        "immune_infiltration": "Immune infiltration (sensitivity)",
    }
)

#: Allowed values of a gene set's ``direction``: ``up`` = high score means resistance,
#: ``down`` = low score (loss) means resistance.
DIRECTIONS: tuple[str, ...] = ("up", "down")
#: Sign that turns a score difference into "towards resistance".
DIRECTION_SIGN = MappingProxyType({"up": 1.0, "down": -1.0})


def direction_sign(direction: str) -> float:
    """The sign that turns a score difference into "towards resistance".

    Parameters
    ----------
    direction
        A gene set's ``direction``: ``up`` gives +1, ``down`` -1 (anything else counts as ``up``).
    """
    return DIRECTION_SIGN.get(direction, 1.0)


#: Cell-metadata (``obs``) columns tmesig writes and reads.
COL_SAMPLE = "sample"
COL_PATIENT = "patient"
COL_CONDITION = "condition"
COL_COMPARTMENT = "compartment"
COL_STATE = "state"
COL_PARENT = "parent"
COL_LEVEL = "level"

#: The two levels of every downstream answer: the lineage (``compartment``) and the cell
#: state inside it (``state``, e.g. ``CD8_exhausted``, ``CAF``, ``malignant``).
LEVEL_LINEAGE = "lineage"
LEVEL_STATE = "state"
LEVELS: tuple[str, ...] = (LEVEL_LINEAGE, LEVEL_STATE)
