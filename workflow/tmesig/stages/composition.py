"""Stage ``composition``: lineage and cell-state shares per patient, compared between conditions.

Inputs
    ``annotation``: ``annotation.tsv`` (``compartment``; ``state`` and ``parent`` when the
    subsets stage ran, else lineages only); ``clustered``: ``clustered.h5ad`` (read backed:
    ``obs["patient"]`` and ``obs["condition"]``); ``subset_markers``: the subset markers
    file (its ``parent:`` keys give the state hierarchy, e.g. ``CD8_exhausted`` in
    ``CD8_T``).
Outputs
    ``composition_by_patient``: ``composition_by_patient.tsv``
    (:func:`tmesig.composition.composition_table` and
    :func:`tmesig.composition.state_composition_table`); ``composition``:
    ``composition.tsv`` (:func:`tmesig.composition.compare_composition`); floats as
    ``%.6g``. Figure ``composition_plot`` (:func:`tmesig.report.composition_bars`), PNG at
    120 dpi. Without two conditions to compare, ``composition.tsv`` holds one ``note``
    saying so.
Params
    ``conditions``: the config's ``conditions`` section (``reference``, ``test``,
    ``min_patients``, ``min_cells`` (a patient's share counts only with at least this many
    cells of the denominator), ``alpha``).
"""

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd

from .. import composition, conditions, report
from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_PARENT,
    COL_PATIENT,
    COL_STATE,
    LEVEL_STATE,
)
from ..io.errors import InputError
from ..subsets import load_subset_markers
from ._io import StageIO

__all__ = ["run"]


def _tables(io: StageIO, patient: pd.Series, condition: pd.Series) -> pd.DataFrame:
    """Lineage rows, then state rows (none when the annotation has no confident state)."""
    ann = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    lineage = composition.composition_table(
        compartment=ann[COL_COMPARTMENT], patient=patient, condition=condition
    )
    if COL_STATE not in ann.columns:
        return lineage
    hierarchy = composition.state_hierarchy(load_subset_markers(io.input["subset_markers"]))
    parent = ann[COL_PARENT] if COL_PARENT in ann.columns else ann[COL_COMPARTMENT]
    states = composition.state_composition_table(
        state=ann[COL_STATE],
        lineage=parent,
        patient=patient,
        condition=condition,
        hierarchy=hierarchy,
    )
    return pd.concat([lineage, states], ignore_index=True) if len(states) else lineage


def run(io: StageIO) -> str:
    """Compute and compare the shares; write the tables and the figure; return a summary.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"composition (<reference> -> <test>): <k> of <n> state shares differ (FDR <=
        alpha)"``, or why nothing was compared.
    """
    p = io.params["conditions"]
    out = io.output
    obs = ad.read_h5ad(io.input["clustered"], backed="r").obs
    patient, condition = obs[COL_PATIENT].astype(str), obs[COL_CONDITION].astype(str)
    try:  # a bad contrast stops the stage before anything is written
        contrast = conditions.resolve_contrast(
            condition.unique(), reference=p["reference"], test=p["test"]
        )
    except ValueError as err:
        raise InputError(f"{io.input['clustered']}: {err}") from None
    table = _tables(io, patient, condition)
    table.to_csv(out["composition_by_patient"], sep="\t", index=False, float_format="%.6g")
    fig = report.composition_bars(table)
    fig.savefig(out["composition_plot"], dpi=120, bbox_inches="tight")
    plt.close(fig)
    if contrast is None:
        pd.DataFrame({"note": [conditions.no_contrast_note(condition.unique())]}).to_csv(
            out["composition"], sep="\t", index=False
        )
        return "composition: no condition to compare"
    res = composition.compare_composition(
        table,
        contrast=contrast,
        min_patients=p["min_patients"],
        alpha=p["alpha"],
        min_cells=p["min_cells"],
    )
    res.to_csv(out["composition"], sep="\t", index=False, float_format="%.6g")
    states = res[res["level"] == LEVEL_STATE] if len(res) else res
    head = f"composition ({contrast.reference} -> {contrast.test})"
    if states.empty:
        return f"{head}: lineages only (no confident cell states)"
    hits = int(states["significant"].sum())
    return f"{head}: {hits} of {len(states)} state shares differ (FDR <= {p['alpha']})"
