"""Stage ``conditions``: condition comparisons and compartment composition, with figures.

Inputs
    ``scores``: ``scores.parquet``; ``annotation``: ``annotation.tsv`` (its ``compartment``
    column); ``clustered``: ``clustered.h5ad`` (read backed: ``obs["patient"]`` and
    ``obs["condition"]``); ``sets``: the signature YAML files.
Outputs
    ``conditions``: ``conditions.tsv`` (:func:`tmesig.conditions.compare_conditions`);
    ``composition``: ``composition.tsv`` (:func:`tmesig.composition.compare_composition`);
    ``composition_by_patient``: ``composition_by_patient.tsv``
    (:func:`tmesig.composition.composition_table`); floats as ``%.6g``. Figure
    ``composition_plot`` (:func:`tmesig.report.composition_bars`), PNG at 120 dpi (the
    forest plot is rule ``forest``'s, for datasets with a condition column). Without two
    conditions to compare, both test tables hold one ``note`` saying so.
Params
    ``conditions``: the config's ``conditions`` section (``reference``, ``test`` and
    :class:`tmesig.conditions.ConditionOptions`).
"""

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import composition, conditions, report, signatures
from ..constants import COL_COMPARTMENT, COL_CONDITION, COL_PATIENT
from ..io.errors import InputError
from ._io import StageIO

__all__ = ["run"]

_NO_CONTRAST = (
    "no condition to compare: name a condition column (condition_col) in the sample sheet"
)


def run(io: StageIO) -> str:
    """Compare conditions and composition; write the tables and figures; return a summary.

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
    out = io.output
    sets = signatures.load_library(io.input["sets"])
    scores = pd.read_parquet(io.input["scores"])
    comp = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)[COL_COMPARTMENT]
    obs = ad.read_h5ad(io.input["clustered"], backed="r").obs
    patient, condition = obs[COL_PATIENT].astype(str), obs[COL_CONDITION].astype(str)
    table = composition.composition_table(compartment=comp, patient=patient, condition=condition)
    table.to_csv(out["composition_by_patient"], sep="\t", index=False, float_format="%.6g")
    _save(report.composition_bars(table), out["composition_plot"])
    try:
        contrast = conditions.resolve_contrast(
            condition.unique(), reference=p["reference"], test=p["test"]
        )
    except ValueError as err:
        raise InputError(f"{io.input['clustered']}: {err}") from None
    if contrast is None:
        res = pd.DataFrame({"note": [_NO_CONTRAST]})
        comp_res = pd.DataFrame({"note": [_NO_CONTRAST]})
    else:
        opts = conditions.ConditionOptions.from_config(p)
        res = conditions.compare_conditions(
            scores,
            sets,
            compartment=comp,
            patient=patient,
            condition=condition,
            contrast=contrast,
            options=opts,
        )
        comp_res = composition.compare_composition(
            table, contrast=contrast, min_patients=opts.min_patients, alpha=opts.alpha
        )
    res.to_csv(out["conditions"], sep="\t", index=False, float_format="%.6g")
    comp_res.to_csv(out["composition"], sep="\t", index=False, float_format="%.6g")
    return f"condition comparison: {'none' if contrast is None else contrast}"


def _save(fig: Figure, path: str) -> None:
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
