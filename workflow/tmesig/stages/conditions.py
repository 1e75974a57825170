"""Stage ``conditions``: condition comparisons of the scores, at lineage and state level.

Inputs
    ``scores``: ``scores.parquet``; ``annotation``: ``annotation.tsv`` (its ``compartment``
    column, and ``state`` / ``parent`` when present); ``clustered``: ``clustered.h5ad``
    (read backed: ``obs["patient"]``, ``obs["condition"]`` and ``obs["sample"]``);
    ``coverage``: ``coverage.tsv`` (genes found per set); ``sets``: the signature YAML files.
Outputs
    ``conditions``: ``conditions.tsv`` (:func:`tmesig.conditions.compare_conditions`),
    floats as ``%.6g``. Without two conditions to compare, the table holds one ``note``
    saying so. (The forest plot is rule ``forest``'s; composition is rule ``composition``'s.)
Params
    ``conditions``: the config's ``conditions`` section (``reference``, ``test`` and
    :class:`tmesig.conditions.ConditionOptions`).
"""

import anndata as ad
import pandas as pd

from .. import conditions, signatures
from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_PARENT,
    COL_PATIENT,
    COL_SAMPLE,
    COL_STATE,
)
from ..io.errors import InputError
from ._io import StageIO

__all__ = ["run"]


def _cells(io: StageIO) -> pd.DataFrame:
    """Per-cell labels: the annotation's lineage/state/parent, the obs' patient/sample/condition."""
    ann = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    keep = [c for c in (COL_COMPARTMENT, COL_STATE, COL_PARENT) if c in ann.columns]
    obs = ad.read_h5ad(io.input["clustered"], backed="r").obs
    labels = [c for c in (COL_PATIENT, COL_SAMPLE, COL_CONDITION) if c in obs.columns]
    cells = obs[labels].astype(str).join(ann[keep].astype(str), how="left")
    return cells.fillna({COL_COMPARTMENT: "unassigned"})


def run(io: StageIO) -> str:
    """Compare conditions; write the table; return a summary.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"condition comparison: <contrast>"`` (``none`` without two conditions).
    """
    p = io.params["conditions"]
    sets = signatures.load_library(io.input["sets"])
    scores = pd.read_parquet(io.input["scores"])
    cells = _cells(io)
    try:
        contrast = conditions.resolve_contrast(
            cells[COL_CONDITION].unique(), reference=p["reference"], test=p["test"]
        )
    except ValueError as err:
        raise InputError(f"{io.input['clustered']}: {err}") from None
    if contrast is None:
        res = pd.DataFrame({"note": [conditions.no_contrast_note(cells[COL_CONDITION].unique())]})
    else:
        if COL_SAMPLE in cells.columns:
            contrast = conditions.with_unit_note(
                contrast, patient=cells[COL_PATIENT], sample=cells[COL_SAMPLE]
            )
        res = conditions.compare_conditions(
            scores,
            sets,
            cells=cells.reindex(scores.index),
            contrast=contrast,
            options=conditions.ConditionOptions.from_config(p),
            coverage=pd.read_csv(io.input["coverage"], sep="\t"),
        )
    res.to_csv(io.output["conditions"], sep="\t", index=False, float_format="%.6g")
    return f"condition comparison: {'none' if contrast is None else contrast}"
