"""Column definitions of the cell-level tables: QC, compartments, subsets, agreement."""

from ..constants import MALIGNANT, UNASSIGNED

#: ``qc_metrics.tsv``: one row per cell of the ingested data.
QC_METRICS = {
    "cell": "cell barcode (obs name)",
    "sample": "sample the cell belongs to",
    "total_counts": "total raw counts (UMIs) of the cell",
    "n_genes": "genes with at least one count in the cell",
    "pct_mito": "percentage of the cell's counts on MT- genes (empty: the matrix has none)",
    "doublet_score": "scrublet doublet score, run per sample (empty: doublets not screened)",
    "predicted_doublet": "scrublet calls the cell a doublet (score above the sample's threshold)",
    "removed_reason": "why the cell was removed (';'-joined reasons), or 'kept'",
    "kept": "the cell passed QC and goes on to clustering",
}

#: ``qc_summary.tsv``: one row per sample.
QC_SUMMARY = {
    "sample": "sample",
    "cells_in": "cells of the sample before QC",
    "min_total_counts": "lower bound on total counts: median - k x MAD of log1p counts",
    "max_total_counts": "upper bound on total counts: median + k x MAD of log1p counts",
    "min_genes": "lower bound on genes detected (MAD rule, at least qc.min_genes)",
    "max_genes": "upper bound on genes detected: median + k x MAD of log1p genes",
    "max_pct_mito": "cut-off on % mitochondrial counts (median + k x MAD, capped and floored)",
    "mito_filter": "whether the mitochondrial filter was applied, or why it was skipped",
    "count_filter": "whether the total-counts MAD rule was applied, or why not (MAD 0, no counts)",
    "gene_filter": "whether the genes-detected MAD rule was applied, or why not (MAD of 0)",
    "min_genes_floor": "the absolute floor on genes detected used (scaled to the panel's size)",
    "doublets": "whether scrublet was run on the sample, or why it was skipped",
    "doublet_threshold": "scrublet's doublet-score threshold for the sample",
    "cells_kept": "cells that passed QC",
    "cells_removed": "cells removed (cells_in - cells_kept)",
    "n_low_counts": "cells removed for total counts below min_total_counts",
    "n_high_counts": "cells removed for total counts above max_total_counts",
    "n_low_genes": "cells removed for genes detected below min_genes",
    "n_high_genes": "cells removed for genes detected above max_genes",
    "n_below_min_genes": "cells removed for fewer genes than the absolute floor qc.min_genes",
    "n_high_mito": "cells removed for % mitochondrial counts above max_pct_mito",
    "n_doublet": "cells removed as scrublet doublets (a cell may have several reasons)",
}

_CLUSTER_CALL = {
    "compartment": f"the cluster's lineage call ('{UNASSIGNED}' when ambiguous)",
    "confidence": "cluster confidence = sqrt(agreement x margin), in [0, 1]",
}

#: ``annotation.tsv``: one row per cell kept by QC.
ANNOTATION = {
    "cell": "cell barcode (obs name)",
    "source": "what made the compartment call: tmesig's markers or the authors' labels",
    "cluster": "Leiden cluster of the cell",
    **_CLUSTER_CALL,
    "cell_compartment": "the cell's own best compartment from its marker scores",
    "cell_confidence": "the cell's relative margin (best - second) / best of marker scores",
    "author_label": "the authors' cell-type label (sheet column label_col)",
    "tmesig_compartment": "tmesig's own call when the authors' labels replace it",
    "celltypist_label": "CellTypist's label for the cell (local model)",
    "celltypist_confidence": "CellTypist's probability of its label",
    "state": "the cell's finest confident state: a subset (CD8_exhausted, Treg, CAF...), "
    f"{MALIGNANT} / normal_epithelium from copy number for epithelial cells, or "
    f"'{UNASSIGNED}' (tmesig.states)",
    "state_confidence": "confidence of the state's subset call (copy-number states: the "
    "lineage confidence; empty without the subset stage)",
    "parent": "the state's lineage (for unassigned states: the cell's lineage)",
}

#: ``annotation_clusters.tsv``: one row per Leiden cluster.
ANNOTATION_CLUSTERS = {
    "cluster": "Leiden cluster",
    "n_cells": "cells in the cluster",
    **_CLUSTER_CALL,
    "top": "compartment with the highest mean marker score in the cluster",
    "second": "compartment with the second-highest mean marker score",
    "margin": "relative margin (S_top - S_second) / S_top of the cluster-mean scores",
    "agreement": "fraction of the cluster's cells whose own best compartment is 'top'",
}

_SCORE_COMPARTMENT = (
    "score_",
    "marker score of that compartment: mean over its markers of expression scaled by the "
    "gene's 90th percentile among expressing cells, in [0, 1]",
)

#: ``annotation_subsets.tsv``: one row per cell; three subset columns, three meanings.
ANNOTATION_SUBSETS = {
    "cell": "cell barcode (obs name)",
    "lineage": "the cell's lineage compartment (from annotation_lineages.tsv)",
    "subcluster": "sub-cluster of the cell inside its lineage (lineage.number)",
    "subset": "the sub-cluster's subset call (cluster level, from subset markers)",
    "subset_confidence": "confidence of 'subset': the minimum confidence along its path",
    "subset_root": "the sub-cluster's first-level call (e.g. CD8_T before its state)",
    "cell_subset": "the cell's own subset call (per cell; may differ from its sub-cluster's)",
    "cell_subset_confidence": "confidence of 'cell_subset' (relative margin or neighbour "
    "agreement)",
    "cell_subset_source": "how 'cell_subset' was made: markers, identity, identity_overridden "
    "(own reads outvoted by its neighbours) or propagated",
    "is_reference": "the cell's lineage is a copy-neutral reference for copy-number inference",
    "is_heldout_reference": "reference cell left out of the baseline to calibrate thresholds",
    "cnv_cluster": "cluster of the cell's inferred copy-number profile",
    "removed_from_reference": "an initial reference cell removed by purification: it carried "
    "copy-number changes (above both thresholds, or a tumour clone's profile) and got its own "
    "call",
    "cnv_clone": "the tumour clone (a CNV cluster deviating more than any normal cell type's "
    "held-out cells) whose profile the cell shares; empty: none",
    "cnv_score": "mean |inferred copy-number deviation| over genomic windows",
    "cnv_corr": "correlation of the cell's copy-number profile with its CNV cluster's mean",
    "cnv_call": f"{MALIGNANT}, non-malignant or uncertain from cnv_score and cnv_corr "
    "('not run' when CNV inference is off)",
    "cnv_profiled": "True: the cell's copy number was profiled with infercnvpy; False: its "
    "call was transferred from its nearest profiled cells of the same sample and lineage "
    "(subsets.cnv_max_cells)",
    "cnv_transfer_agreement": "share of the voting profiled neighbours with the transferred "
    "call; empty for profiled cells",
    "note": "why a copy-number call was made or withheld",
    "final_subset": f"the final call: 'subset', with '{MALIGNANT}' from copy number and "
    "other_normal_epithelium for CNV-normal epithelial cells without a marker subset",
}

#: ``annotation_subclusters.tsv``: one row per sub-cluster.
ANNOTATION_SUBCLUSTERS = {
    "lineage": "lineage compartment the sub-cluster belongs to",
    "subcluster": "sub-cluster (lineage.number)",
    "n_cells": "cells in the sub-cluster",
    "subset": "the sub-cluster's subset call",
    "confidence": "confidence of the call: the minimum confidence along its path",
    "root_top": "best first-level subset (e.g. CD8_T, CD4_T, NK)",
    "root_margin": "relative margin of the best first-level subset over the second",
    "root_agreement": "fraction of cells whose own best first-level subset is root_top",
    "root_confidence": "sqrt(root_agreement x root_margin)",
    "child_top": "best second-level subset under the root (e.g. CD8_exhausted)",
    "child_margin": "relative margin of the best second-level subset over the second",
    "child_agreement": "fraction of cells whose own best second-level subset is child_top",
    "child_confidence": "sqrt(child_agreement x child_margin)",
}

_SCORE_SUBSET = (
    "score_",
    "subset marker score of that subset among its lineage's cells, in [0, 1] (empty "
    "outside the lineage)",
)
_AXIS = ("axis_", "continuous axis: score(positive genes) - score(negative genes), in [-1, 1]")

#: The cross-tabulations of our compartments against external labels.
AGREEMENT = {
    "ours": "tmesig's compartment (rows); 'All' sums the rows",
    "All": "cells with this compartment, over every external label",
}

#: Columns named by the data, per table: (prefix, definition); prefix "" matches any column.
PATTERNS = {
    "annotation": (_SCORE_COMPARTMENT,),
    "annotation_lineages": (_SCORE_COMPARTMENT,),
    "annotation_clusters": (
        (
            "score_",
            "mean marker score of that compartment over the cluster's cells (panel input: the "
            "lineage's cluster score, the mean of its 3 best marker-detection contrasts with "
            "the other cells)",
        ),
    ),
    "annotation_subsets": (_SCORE_SUBSET, _AXIS),
    "annotation_subclusters": (
        ("score_", "mean subset marker score of that subset over the sub-cluster's cells"),
    ),
    "label_agreement": (("", "cells with this author label and our compartment (the row)"),),
    "celltypist_agreement": (("", "cells with this CellTypist label and our compartment"),),
}

#: ``annotation_markers.tsv``: one row per lineage, the markers the lineage call could use.
ANNOTATION_MARKERS = {
    "lineage": "lineage (tmesig.constants.LINEAGES)",
    "markers_listed": "candidate markers of the lineage in the marker file",
    "markers_measured": "candidate markers present in the matrix",
    "markers_used": "markers the lineage score used (measured and expressed; on a panel: "
    "singled out by a cluster)",
    "genes": "the markers used, comma-separated",
    "cells_called": "cells called this lineage",
    "callable": "whether enough markers were found to call the lineage (panel: one marker "
    "suffices)",
    "note": "why the lineage cannot be called and what to do (empty when it can)",
}
