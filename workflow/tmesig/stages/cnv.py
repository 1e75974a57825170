"""Stage ``cnv``: malignant cells from inferred copy number, and its two figures.

Inputs
    ``h5ad`` (``clustered.h5ad``), ``annotation`` (``annotation_lineages.tsv``: the lineage
    of each cell, which decides the copy-neutral reference), ``markers`` (subset marker YAML:
    the colour family of each lineage in the heatmap).
Outputs
    ``calls`` (``subsets/cnv_calls.parquet``: :func:`tmesig.cnv.call_malignant_capped`'s
    per-cell table, epithelial-like reference cells noted; joined with the subset calls into
    ``annotation_subsets.tsv`` by rule ``states``), figures ``cnv_heatmap`` (annotated by
    lineage, use in the purified reference, CNV call and the author label when the lineage
    table has one) and ``cnv_scatter``. With ``subsets.cnv: false`` every cell is ``not run``
    and both figures are a framed note.
Params
    ``subsets`` (config section: ``seed``, ``cnv``, ``cnv_window``, ``cnv_max_cells``,
    ``cnv_max_cells_total``); ``label_mapping`` (optional: ``annotate.label_mapping``, to
    list author-epithelial cells in the CNV reference).

Memory: ``clustered.h5ad`` is opened backed; only the capped CNV cells are read,
log-normalised (:func:`tmesig.io.kept_cells.read_rows`).
"""

import logging

import anndata as ad
import numpy as np
import pandas as pd

from .. import report_annotation
from ..cnv import CnvCap, CnvOptions, call_malignant_capped, epithelial_like, note_epithelial_like
from ..constants import COL_SAMPLE, MALIGNANT
from ..figures import note_figure
from ..io.expression import read_expression
from ..subsets import load_subset_markers
from ._io import StageIO
from .subset_figures import CNV_DISABLED, parents_of, save

__all__ = ["run"]

logger = logging.getLogger("tmesig")


def run(io: StageIO) -> str:
    """Call malignant cells from copy number; write the calls and the CNV figures.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        The number of malignant cells and what the reference held.
    """
    p, out = io.params["subsets"], io.output
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    if not p["cnv"]:
        calls = pd.DataFrame({"cnv_call": "not run"}, index=annotation.index.rename("cell"))
        calls.to_parquet(out["calls"])
        for f in ("cnv_heatmap", "cnv_scatter"):
            save(note_figure(CNV_DISABLED, title="No copy-number figure"), out[f])
        return CNV_DISABLED
    adata = read_expression(io.input["h5ad"], backed=True)
    try:
        lineage = annotation.loc[adata.obs_names, "compartment"].astype(str)
        calls, profiled = call_malignant_capped(
            adata,
            lineage=lineage,
            sample=adata.obs.get(COL_SAMPLE, pd.Series("all", index=adata.obs_names)),
            options=CnvOptions(window_size=p["cnv_window"], seed=p["seed"]),
            cap=CnvCap.from_config(p),
        )
    finally:
        adata.file.close()
    like = epithelial_like(annotation, label_mapping=io.params.get("label_mapping"))
    calls, line = note_epithelial_like(calls, like)
    logger.info("CNV: %s", {k: v for k, v in calls.attrs.items() if k != "clones"})
    logger.info("CNV clusters and clones: %s", calls.attrs.get("clones"))
    _with_calls(profiled, calls, lineage.loc[profiled.obs_names], annotation)
    markers = load_subset_markers(io.input["markers"])
    fig = report_annotation.cnv_heatmap(profiled, seed=p["seed"], parents=parents_of(markers))
    save(fig, out["cnv_heatmap"], dpi=100)
    save(report_annotation.cnv_scatter(calls), out["cnv_scatter"])
    malignant = int((calls["cnv_call"].astype(str) == MALIGNANT).sum())
    other = calls.attrs["n_malignant_other_lineage"]
    calls = calls.drop(columns=["lineage"])
    calls.attrs = {}
    calls.index.name = "cell"
    calls.to_parquet(out["calls"])
    return (
        f"{malignant:,} malignant by copy number; {line}; {other:,} malignant cells "
        "annotated in another lineage"
    )


def _with_calls(
    adata: ad.AnnData, calls: pd.DataFrame, lineage: pd.Series, annotation: pd.DataFrame
) -> None:
    """Lineage, CNV call and (when present) the author label into ``obs``, for the heatmap."""
    adata.obs["cnv_call"] = calls["cnv_call"].reindex(adata.obs_names).astype(str).to_numpy()
    adata.obs["lineage"] = lineage.to_numpy()
    ref = calls["is_reference"].reindex(adata.obs_names).to_numpy(dtype=bool)
    removed = calls["removed_from_reference"].reindex(adata.obs_names).to_numpy(dtype=bool)
    adata.obs["cnv_reference"] = np.select(
        [ref, removed], ["reference", "removed from reference"], default="query"
    )
    if "author_label" in annotation.columns:
        labels = annotation["author_label"].reindex(adata.obs_names)
        adata.obs["author_label"] = labels.astype(str).to_numpy()
