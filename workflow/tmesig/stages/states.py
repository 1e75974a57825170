"""Stage ``states``: the final per-cell tables ``annotation_subsets.tsv`` (subset calls with
malignant cells from copy number) and ``annotation.tsv`` (lineage and cell state).

Inputs
    ``lineages`` (``annotation_lineages.tsv``: rule ``annotate``'s per-cell lineage calls),
    ``subsets`` (``subsets/subset_calls.parquet``, rule ``subsets``) and ``cnv``
    (``subsets/cnv_calls.parquet``, rule ``cnv``): empty lists when ``subsets.enabled`` is
    false; ``markers`` (the subset marker YAML: every state's lineage).
Outputs
    ``cells`` (``annotation.tsv``): the lineage table plus ``state``, ``state_confidence``
    and ``parent`` (:func:`tmesig.states.final_states`); ``subsets``
    (``annotation_subsets.tsv``, only when the subset stage runs): the subset calls, the CNV
    columns and ``final_subset`` (:func:`tmesig.subsets.merge_malignant`). Floats as ``%.6g``.
"""

import pandas as pd

from ..constants import COL_STATE, MALIGNANT, UNASSIGNED
from ..states import final_states
from ..subsets import load_subset_markers, merge_malignant
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
    subsets = _joined(_one(io.input.get("subsets")), _one(io.input.get("cnv")))
    if subsets is not None:
        subsets.to_csv(io.output["subsets"], sep="\t", float_format="%.6g")
        # the states read the table as written (the same numbers as a rerun from the file)
        subsets = pd.read_csv(io.output["subsets"], sep="\t", index_col=0)
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


def _one(given) -> str | None:
    """The file of an input that is a path, a one-path list, or empty."""
    if isinstance(given, list | tuple):
        return str(given[0]) if given else None
    return str(given) if given else None


def _joined(subsets: str | None, cnv: str | None) -> pd.DataFrame | None:
    """The subset calls joined with the copy-number calls; ``final_subset`` last."""
    if subsets is None:
        return None
    cells = pd.read_parquet(subsets)
    calls = pd.read_parquet(cnv) if cnv else pd.DataFrame({"cnv_call": "not run"}, cells.index)
    cells = cells.join(calls)
    ran = (calls["cnv_call"].astype(str) != "not run").any()
    cells["final_subset"] = merge_malignant(cells, calls) if ran else cells["subset"]
    cells.index.name = "cell"
    return cells
