"""Column definitions of the reader views built by :mod:`tmesig.tables` for the report."""

#: Per-compartment counts of ``annotation.tsv`` (the per-cell table is too big to show).
COMPARTMENT_COUNTS = {
    "compartment": "lineage compartment (the cluster-level call each cell inherits)",
    "n_cells": "cells in the compartment",
    "percent": "percentage of the cells kept by QC",
    "n_clusters": "Leiden clusters called this compartment",
    "median_confidence": "median over its cells of the cluster confidence, in [0, 1]",
    "cells_own_call_differs": "cells whose own best compartment (cell_compartment) is "
    "another one: a cell-level view that may disagree with its cluster's call",
}

#: Per-subset counts of ``annotation_subsets.tsv``.
SUBSET_COUNTS = {
    "lineage": "lineage compartment",
    "final_subset": "the final subset call: the sub-cluster's marker call, with malignant "
    "cells from copy number",
    "n_cells": "cells with this final call",
    "percent_of_lineage": "percentage of the lineage's cells",
    "median_confidence": "median subset confidence of these cells (sub-cluster level; empty "
    "for copy-number calls)",
    "cells_own_call_agrees": "cells whose per-cell call (cell_subset) is the same subset; "
    "the rest were outvoted by their sub-cluster",
}
