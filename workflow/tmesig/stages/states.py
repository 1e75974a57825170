"""Stage ``states``: the final per-cell table ``annotation.tsv`` (lineage and cell state).

Inputs
    ``lineages`` (``annotation_lineages.tsv``: rule ``annotate``'s per-cell lineage calls),
    ``subsets`` (``annotation_subsets.tsv``; an empty list when ``subsets.enabled`` is
    false), ``markers`` (the subset marker YAML: every state's lineage).
Outputs
    ``cells`` (``annotation.tsv``): the lineage table plus ``state``, ``state_confidence``
    and ``parent`` (:func:`tmesig.states.final_states`), floats as ``%.6g``.
"""

import pandas as pd

from ..constants import COL_STATE, MALIGNANT, UNASSIGNED
from ..states import final_states
from ..subsets import load_subset_markers
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Write ``annotation.tsv`` with the final cell states; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs and outputs (see the module docstring).
    """
    lineages = pd.read_csv(io.input["lineages"], sep="\t", index_col=0)
    given = io.input.get("subsets")
    path = given[0] if isinstance(given, list | tuple) and given else given
    subsets = pd.read_csv(path, sep="\t", index_col=0) if path else None
    cells = final_states(lineages, subsets, markers=load_subset_markers(io.input["markers"]))
    cells.index.name = "cell"
    cells.to_csv(io.output["cells"], sep="\t", float_format="%.6g")
    if subsets is None:
        return f"states: subsets disabled, all {len(cells):,} cells {UNASSIGNED}"
    counts = cells[COL_STATE].value_counts()
    called = int(counts.drop(UNASSIGNED, errors="ignore").sum())
    top = ", ".join(f"{k} {v:,}" for k, v in counts.drop(UNASSIGNED, errors="ignore")[:4].items())
    outside = cells.attrs["malignant_outside_epithelial"]
    return (
        f"states for {called:,} of {len(cells):,} cells ({top}...); "
        f"{int(counts.get(MALIGNANT, 0)):,} {MALIGNANT}, {outside:,} of them annotated "
        "outside the epithelial lineage (lineage kept)"
    )
