"""Final subset labels: marker subsets with malignant cells taken from copy number."""

import pandas as pd

from tmesig.constants import MALIGNANT, UNASSIGNED

__all__ = ["OTHER_NORMAL_EPITHELIUM", "merge_malignant"]

#: Subset label for CNV-non-malignant epithelial cells without a normal-epithelium marker call.
OTHER_NORMAL_EPITHELIUM = "other_normal_epithelium"


def merge_malignant(
    subsets: pd.DataFrame,
    cnv_calls: pd.DataFrame,
    *,
    column: str = "subset",
) -> pd.Series:
    """Final subset label: marker subsets with malignant cells taken from copy number.

    Parameters
    ----------
    subsets
        ``cells`` output of :func:`tmesig.subsets.annotate_subsets`.
    cnv_calls
        Output of :func:`tmesig.cnv.call_malignant` (column ``cnv_call``), same index.
    column
        Which subset column to start from (``subset`` or ``cell_subset``).

    Returns
    -------
    pandas.Series
        Named ``final_subset``: ``malignant`` where ``cnv_call == "malignant"`` (this wins
        over a normal-epithelium marker call: lung adenocarcinoma keeps alveolar genes);
        ``other_normal_epithelium`` for epithelial cells that are CNV ``non-malignant``
        without a marker subset; otherwise the marker subset.
    """
    if column not in subsets.columns:
        msg = f"Column {column!r} not in the subsets table; use 'subset' or 'cell_subset'."
        raise ValueError(msg)
    if "cnv_call" not in cnv_calls.columns:
        msg = "cnv_calls has no 'cnv_call' column; pass the output of tmesig.cnv.call_malignant."
        raise ValueError(msg)
    call = cnv_calls["cnv_call"].reindex(subsets.index)
    out = subsets[column].astype(object).copy()
    epi_plain = (
        (subsets["lineage"] == "epithelial") & (out == UNASSIGNED) & (call == "non-malignant")
    )
    out[epi_plain] = OTHER_NORMAL_EPITHELIUM
    out[call == MALIGNANT] = MALIGNANT
    out.name = "final_subset"
    return out
