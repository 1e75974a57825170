"""The final per-cell cell state: the finest confident label under each cell's lineage.

``annotation.tsv`` (rule ``states``) is the lineage table of rule ``annotate``
(``annotation_lineages.tsv``: ``compartment``, ``confidence``...) plus three columns:

``state``
    The finest confident label. For non-epithelial cells it is the subset call of
    :func:`tmesig.subsets.annotate_subsets` (``resources/markers/subsets.yaml``), which is
    already the finest confident level: the leaf (``CD8_exhausted``) when its call is
    confident, else its root (``CD8_T``: "CD8 T cell, state unresolved") when that is
    confident, else ``unassigned``. Epithelial cells take their state from copy number:
    ``malignant`` (``cnv_call == "malignant"``), ``normal_epithelium`` (``non-malignant``),
    ``unassigned`` when the call is ``uncertain`` or CNV inference is off. With the subset
    stage disabled every state is ``unassigned``.
``state_confidence``
    The confidence of the subset call the state comes from (``cell_subset_confidence`` or
    ``subset_confidence``); for states from copy number (which is a threshold call without
    a confidence of its own) the cell's lineage ``confidence``; NaN without subsets.
``parent``
    The state's lineage: from the subset marker file (every subset names one lineage, so a
    state never has two parents), ``epithelial`` for ``malignant`` and
    ``normal_epithelium``; for ``unassigned`` the cell's own lineage.

Malignant cells outside the epithelial lineage
    :func:`tmesig.cnv.call_malignant` also calls cells of non-candidate lineages malignant
    on strong copy-number evidence (e.g. a cancer cell annotated fibroblast). Such a cell
    gets state ``malignant`` with parent ``epithelial`` (the parent of a state is fixed),
    and its ``compartment`` is left as annotated: the lineage level stays the marker call
    and the state level the copy-number call. :func:`final_states` counts these cells in
    ``attrs["malignant_outside_epithelial"]`` and the stage reports it in its summary line.

Which subset call (measured)
    :data:`SOURCES`: ``cell`` (per-cell ``cell_subset``), ``cluster`` (sub-cluster
    ``subset``), ``cell_then_cluster`` (the cell call, else the sub-cluster call where the
    cell is unassigned). Against the author labels of Wu et al. 2020 T cells
    (``resources/testdata/wu2020_200_tcells.h5ad``, ``cluster_orig``: CD8 ``8.*`` vs CD4
    ``4.*``, 191 cells; Treg ``4.6*``, 14 cells; the file has no exhausted/memory label),
    with the states mapped to their root:

    ======================  ===================  ==========  ==========================
    source                  accuracy among        coverage    accuracy, unassigned
                            CD4/CD8 calls                     counted wrong
    ======================  ===================  ==========  ==========================
    ``cell``                0.925                 0.911       0.843
    ``cluster``             0.791                 0.853       0.675
    ``cell_then_cluster``   0.891                 0.963       0.859
    ======================  ===================  ==========  ==========================

    Treg precision / recall: 0.63 / 0.86 (``cell``), 0.61 / 1.00 (``cluster``). The ten
    cells that the sub-cluster fallback adds are right in about three of ten, so the
    per-cell call alone (:data:`DEFAULT_SOURCE` = ``cell``) gives the more trustworthy
    states; downstream state shares and flags need precision more than coverage. On the
    Qian 2020 ovarian demo (author labels are lineages only, so only coverage can be
    compared) ``cell`` assigns a state to 65.7% of cells (T/NK 85.3%, fibroblasts 77.8%),
    ``cluster`` 56.6%, ``cell_then_cluster`` 71.9%. Both datasets are small (a few hundred
    cells per lineage), where sub-clusters are least reliable.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .constants import (
    COL_COMPARTMENT,
    COL_PARENT,
    COL_STATE,
    MALIGNANT,
    NORMAL_EPITHELIUM,
    UNASSIGNED,
)
from .subsets import SubsetMarkers

__all__ = [
    "DEFAULT_SOURCE",
    "EPITHELIAL",
    "SOURCES",
    "StateOptions",
    "final_states",
    "state_parents",
]

#: The lineage of the copy-number states.
EPITHELIAL = "epithelial"
#: Which subset call a state comes from (see the module docstring).
SOURCES: tuple[str, ...] = ("cell", "cluster", "cell_then_cluster")
#: The measured choice.
DEFAULT_SOURCE = "cell"
#: Subset-table columns (call, confidence) of each single source.
_COLUMNS = {
    "cell": ("cell_subset", "cell_subset_confidence"),
    "cluster": ("subset", "subset_confidence"),
}


@dataclass(frozen=True)
class StateOptions:
    """Options of :func:`final_states`.

    Attributes
    ----------
    source : str
        Which subset call gives the state (:data:`SOURCES`).
    """

    source: str = DEFAULT_SOURCE

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            msg = f"StateOptions.source: {self.source!r} is not one of {', '.join(SOURCES)}"
            raise ValueError(msg)


def state_parents(markers: SubsetMarkers) -> dict[str, str]:
    """Every state's lineage: each subset's, and ``epithelial`` for the copy-number states.

    Parameters
    ----------
    markers
        The subset marker file (:func:`tmesig.subsets.load_subset_markers`).
    """
    out = {s.name: s.lineage for s in markers.subsets}
    out.update({MALIGNANT: EPITHELIAL, NORMAL_EPITHELIUM: EPITHELIAL})
    return out


def _subset_call(subsets: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """The chosen subset call and its confidence, per row of ``subsets``."""
    if source in _COLUMNS:
        call, conf = _COLUMNS[source]
        return (
            subsets[call].astype(str).to_numpy(dtype=object),
            subsets[conf].to_numpy(dtype=float),
        )
    cell, cell_conf = _subset_call(subsets, "cell")
    clus, clus_conf = _subset_call(subsets, "cluster")
    use_cell = cell != UNASSIGNED
    return np.where(use_cell, cell, clus), np.where(use_cell, cell_conf, clus_conf)


def final_states(
    lineages: pd.DataFrame,
    subsets: pd.DataFrame | None,
    *,
    markers: SubsetMarkers,
    options: StateOptions | None = None,
) -> pd.DataFrame:
    """The lineage table with ``state``, ``state_confidence`` and ``parent`` per cell.

    Parameters
    ----------
    lineages
        Per-cell lineage calls (``annotation_lineages.tsv``: ``compartment``,
        ``confidence``), indexed by cell.
    subsets
        Per-cell subset calls (``annotation_subsets.tsv``: ``subset``,
        ``subset_confidence``, ``cell_subset``, ``cell_subset_confidence`` and, when CNV
        ran, ``cnv_call``); ``None`` when the subset stage is disabled.
    markers
        The subset marker file (the states' lineages).
    options
        :class:`StateOptions`.

    Returns
    -------
    DataFrame
        ``lineages`` with ``state``, ``state_confidence``, ``parent`` appended.
        ``attrs``: ``malignant_outside_epithelial`` (cells called malignant by copy number
        whose lineage is not epithelial), ``source``.

    Raises
    ------
    ValueError
        A subset call that the marker file does not name (subsets from another file).
    """
    opts = options if options is not None else StateOptions()
    lineage = lineages[COL_COMPARTMENT].astype(str).to_numpy(dtype=object)
    n = len(lineages)
    state = np.full(n, UNASSIGNED, dtype=object)
    conf = np.full(n, np.nan)
    outside = 0
    if subsets is not None:
        sub = subsets.reindex(lineages.index)
        call, call_conf = _subset_call(sub, opts.source)
        call = np.where(sub["cell_subset"].isna().to_numpy(), UNASSIGNED, call)
        epi = lineage == EPITHELIAL
        state = np.where(epi, UNASSIGNED, call).astype(object)
        conf = np.where(epi, np.nan, call_conf)
        cnv = sub["cnv_call"].astype(str).to_numpy() if "cnv_call" in sub else np.full(n, "")
        lineage_conf = lineages["confidence"].to_numpy(dtype=float)
        normal = epi & (cnv == "non-malignant")
        malignant = cnv == MALIGNANT
        state[normal], conf[normal] = NORMAL_EPITHELIUM, lineage_conf[normal]
        state[malignant], conf[malignant] = MALIGNANT, lineage_conf[malignant]
        outside = int((malignant & ~epi).sum())
    parents = state_parents(markers)
    unknown = sorted(set(state) - set(parents) - {UNASSIGNED})
    if unknown:
        msg = f"subset calls not in the subset marker file: {', '.join(unknown)}"
        raise ValueError(msg)
    out = lineages.copy()
    out[COL_STATE] = state
    out["state_confidence"] = conf
    pairs = zip(state, lineage, strict=True)
    out[COL_PARENT] = [lin if s == UNASSIGNED else parents[s] for s, lin in pairs]
    out.attrs.update(malignant_outside_epithelial=outside, source=opts.source)
    return out
