"""Reader views of the per-cell tables: counts per compartment and per subset."""

import numpy as np
import pandas as pd

from ..constants import MALIGNANT
from ..subsets import OTHER_NORMAL_EPITHELIUM

__all__ = ["compartment_counts", "subset_counts"]

#: Final subset calls made from copy number, not from markers.
_CNV_CALLS = (MALIGNANT, OTHER_NORMAL_EPITHELIUM)


def compartment_counts(annotation: pd.DataFrame) -> pd.DataFrame:
    """Cells, clusters and confidence per compartment of ``annotation.tsv``.

    Parameters
    ----------
    annotation
        The per-cell table (columns ``compartment``, ``confidence``, ``cluster`` and,
        when present, ``cell_compartment``).

    Returns
    -------
    DataFrame
        One row per compartment, largest first: ``compartment``, ``n_cells``, ``percent``,
        ``n_clusters``, ``median_confidence``, ``cells_own_call_differs``.
    """
    a = annotation.assign(compartment=annotation["compartment"].astype(str))
    g = a.groupby("compartment", sort=True)
    out = pd.DataFrame(
        {
            "n_cells": g.size(),
            "percent": 100.0 * g.size() / max(len(a), 1),
            "n_clusters": g["cluster"].nunique(),
            "median_confidence": g["confidence"].median(),
        }
    )
    if "cell_compartment" in a.columns:
        differs = a["cell_compartment"].astype(str) != a["compartment"]
        out["cells_own_call_differs"] = differs.groupby(a["compartment"]).sum().astype(int)
    out = out.reset_index()
    return out.sort_values(["n_cells", "compartment"], ascending=[False, True], kind="stable")


def subset_counts(subsets: pd.DataFrame) -> pd.DataFrame:
    """Cells per lineage x final subset of ``annotation_subsets.tsv``, with confidence.

    The final call is the sub-cluster's marker call (``subset``), with malignant cells
    (and copy-number-normal epithelial cells without a marker subset) from copy number.
    The per-cell call ``cell_subset`` is summarised as the cells that agree with it.

    Parameters
    ----------
    subsets
        The per-cell table (``lineage``, ``final_subset``, ``subset_confidence``,
        ``cell_subset``).

    Returns
    -------
    DataFrame
        ``lineage``, ``final_subset``, ``n_cells``, ``percent_of_lineage``,
        ``median_confidence`` and ``cells_own_call_agrees`` (both empty for copy-number
        calls), sorted by lineage then cells.
    """
    s = subsets.assign(
        lineage=subsets["lineage"].astype(str),
        final_subset=subsets["final_subset"].astype(str),
        agrees=subsets["cell_subset"].astype(str) == subsets["final_subset"].astype(str),
    )
    g = s.groupby(["lineage", "final_subset"], sort=True)
    out = pd.DataFrame(
        {
            "n_cells": g.size(),
            "median_confidence": g["subset_confidence"].median(),
            "cells_own_call_agrees": g["agrees"].sum().astype(float),
        }
    ).reset_index()
    per_lineage = out.groupby("lineage")["n_cells"].transform("sum")
    out.insert(3, "percent_of_lineage", 100.0 * out["n_cells"] / per_lineage)
    cnv = out["final_subset"].isin(_CNV_CALLS).to_numpy()
    out.loc[cnv, ["median_confidence", "cells_own_call_agrees"]] = np.nan
    return out.sort_values(
        ["lineage", "n_cells", "final_subset"], ascending=[True, False, True], kind="stable"
    )
