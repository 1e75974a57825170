"""Stage ``subsets``: subsets inside each lineage (sub-clustering and marker calls).

Inputs
    ``h5ad`` (``clustered.h5ad``), ``annotation`` (``annotation_lineages.tsv``: rule
    ``annotate``'s ``compartment`` and ``confidence`` per cell), ``markers`` (subset marker YAML).
Outputs
    ``cells`` (``subsets/subset_calls.parquet``: the per-cell subset calls, joined with the
    copy-number calls of rule ``cnv`` into ``annotation_subsets.tsv`` by rule ``states``),
    ``clusters`` (``annotation_subclusters.tsv``).
Params
    ``subsets`` (config section: ``resolution``, ``seed``, ``min_confidence``,
    ``propagation_alpha``, ``sketch_above``).

Memory: ``clustered.h5ad`` is opened backed; each lineage's cells are read, log-normalised,
when needed (:func:`tmesig.io.kept_cells.read_rows`), never the whole matrix at once.
Copy-number inference (stage :mod:`~tmesig.stages.cnv`) and the figures (stage
:mod:`~tmesig.stages.subset_figures`) are their own rules, so that the two heaviest steps
after annotation run side by side.
"""

import logging

import pandas as pd

from ..constants import UNASSIGNED
from ..io.expression import read_expression
from ..subsets import SubsetOptions, annotate_subsets, load_subset_markers
from ._io import StageIO

__all__ = ["run"]

logger = logging.getLogger("tmesig")


def run(io: StageIO) -> str:
    """Call subsets inside each lineage; write the per-cell calls and the sub-cluster table.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        The number of cells per subset.
    """
    p = io.params["subsets"]
    adata = read_expression(io.input["h5ad"], backed=True)
    try:
        annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
        lineage = annotation.loc[adata.obs_names, "compartment"].astype(str)
        options = SubsetOptions(
            resolution=p["resolution"],
            seed=p["seed"],
            min_confidence=p["min_confidence"],
            propagation_alpha=p["propagation_alpha"],
            sketch_above=p.get("sketch_above", 50_000),
        )
        markers = load_subset_markers(io.input["markers"])
        cells, clusters = annotate_subsets(adata, lineage, markers=markers, options=options)
    finally:
        adata.file.close()
    cells.index.name = "cell"
    cells.to_parquet(io.output["cells"])
    clusters.to_csv(io.output["clusters"], sep="\t", index=False, float_format="%.6g")
    counts = cells["subset"].value_counts()
    called = int(counts.drop(UNASSIGNED, errors="ignore").sum())
    top = ", ".join(f"{k} {v:,}" for k, v in counts.drop(UNASSIGNED, errors="ignore")[:4].items())
    return f"subsets called for {called:,} of {len(cells):,} cells ({top}...)"
