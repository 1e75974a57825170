"""Epithelial-like cells in the CNV reference: listed in the note and summarised."""

from collections.abc import Mapping

import pandas as pd

__all__ = ["EPITHELIAL", "epithelial_like", "note_epithelial_like"]

#: The lineage whose look-alikes in the reference are listed.
EPITHELIAL = "epithelial"


def epithelial_like(
    annotation: pd.DataFrame, *, label_mapping: Mapping[str, str] | None = None
) -> pd.Series:
    """Cells that look epithelial by their own marker call or by the authors' label.

    Parameters
    ----------
    annotation
        ``annotation.tsv``: ``cell_compartment`` (the cell's own best lineage by markers,
        whatever its cluster's call) and, when the sheet names ``label_col``,
        ``author_label``.
    label_mapping
        Author label -> lineage (``annotate.label_mapping``); without it an author label
        counts when it is the lineage's name (case-insensitive).

    Returns
    -------
    pandas.Series
        Boolean per cell (index of ``annotation``), named ``epithelial_like``.
    """
    out = pd.Series(False, index=annotation.index, name="epithelial_like")
    if "cell_compartment" in annotation.columns:
        out |= annotation["cell_compartment"].astype(str).eq(EPITHELIAL)
    if "author_label" in annotation.columns:
        labels = annotation["author_label"].astype(str)
        mapped = labels.map(dict(label_mapping or {})).fillna(labels)
        out |= mapped.str.lower().eq(EPITHELIAL)
    return out


def note_epithelial_like(calls: pd.DataFrame, like: pd.Series) -> tuple[pd.DataFrame, str]:
    """Mark epithelial-like reference cells (initial reference) in ``note``; a summary line.

    Parameters
    ----------
    calls
        Output of :func:`tmesig.cnv.call_malignant`.
    like
        Boolean per cell (:func:`epithelial_like`).

    Returns
    -------
    tuple of pandas.DataFrame and str
        ``calls`` with ``epithelial-like`` appended to the note of those cells, and a line
        saying how many there were, how many left the reference and how many are malignant.
    """
    out = calls.copy()
    like = like.reindex(out.index).fillna(False).to_numpy(dtype=bool)
    initial = (out["is_reference"] | out["removed_from_reference"]).to_numpy()
    mask = like & initial
    out.loc[mask, "note"] = [
        f"{n}; epithelial-like (marker call or author label)" if n else "epithelial-like"
        for n in out.loc[mask, "note"]
    ]
    removed = out["removed_from_reference"].to_numpy()
    malignant = (out["cnv_call"].astype(str) == "malignant").to_numpy()
    line = (
        f"{int(mask.sum()):,} epithelial-like cells in the CNV reference "
        f"({int((mask & removed).sum()):,} removed by purification, "
        f"{int((mask & malignant).sum()):,} malignant); "
        f"{int(removed.sum()):,} reference cells removed in all, "
        f"{int((removed & malignant).sum()):,} of them malignant"
    )
    return out, line
