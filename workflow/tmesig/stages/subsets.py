"""Stage ``subsets``: subsets inside each lineage, malignant cells from copy number, figures.

Inputs
    ``h5ad`` (``clustered.h5ad``), ``annotation`` (``annotation.tsv``: ``compartment`` and
    ``confidence`` per cell), ``markers`` (subset marker YAML).
Outputs
    ``cells`` (``annotation_subsets.tsv``), ``clusters`` (``annotation_subclusters.tsv``),
    figures ``umap`` (by lineage, final subset, CNV call), ``dotplot`` (subset markers),
    ``confidence`` (lineage and subset confidence), ``cnv_heatmap`` and ``cnv_scatter``
    (a note figure each when CNV inference is off).
Params
    ``subsets`` (config section: ``resolution``, ``seed``, ``min_confidence``,
    ``propagation_alpha``, ``cnv``, ``cnv_window``).
"""

import logging

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd

from .. import report_annotation
from ..cnv import CnvOptions, call_malignant
from ..subsets import SubsetOptions, annotate_subsets, load_subset_markers, merge_malignant
from ._io import StageIO

__all__ = ["run"]

logger = logging.getLogger("tmesig")

#: Text of the CNV figures when copy-number inference is switched off.
CNV_DISABLED = "copy-number inference disabled (subsets.cnv: false)"


def run(io: StageIO) -> str:
    """Call subsets (and malignant cells), write the tables and figures.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        The number of cells per final subset.
    """
    p = io.params["subsets"]
    out = io.output
    adata = ad.read_h5ad(io.input["h5ad"])
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    lineage = annotation.loc[adata.obs_names, "compartment"].astype(str)
    markers = load_subset_markers(io.input["markers"])
    options = SubsetOptions(
        resolution=p["resolution"],
        seed=p["seed"],
        min_confidence=p["min_confidence"],
        propagation_alpha=p["propagation_alpha"],
    )
    cells, clusters = annotate_subsets(adata, lineage, markers=markers, options=options)
    if p["cnv"]:
        calls = call_malignant(
            adata,
            lineage=lineage,
            options=CnvOptions(window_size=p["cnv_window"], seed=p["seed"]),
        )
        cells = cells.join(calls.drop(columns=["lineage"]))
        cells["final_subset"] = merge_malignant(cells, calls)
        logger.info("CNV thresholds: %s", calls.attrs)
        report_annotation.cnv_heatmap(_with_calls(adata, calls)).savefig(
            out["cnv_heatmap"], dpi=100, bbox_inches="tight"
        )
        report_annotation.cnv_scatter(calls).savefig(
            out["cnv_scatter"], dpi=120, bbox_inches="tight"
        )
    else:
        cells["cnv_call"] = "not run"
        cells["final_subset"] = cells["subset"]
        for f in (out["cnv_heatmap"], out["cnv_scatter"]):
            _note_figure(CNV_DISABLED).savefig(f)
    cells.index.name = "cell"
    cells.to_csv(out["cells"], sep="\t", float_format="%.6g")
    clusters.to_csv(out["clusters"], sep="\t", index=False, float_format="%.6g")
    _figures(io, adata, lineage, cells, markers, p["min_confidence"])
    return f"subsets: {cells['final_subset'].value_counts().to_dict()}"


def _figures(io: StageIO, adata, lineage, cells, markers, min_confidence: float) -> None:
    """UMAP by lineage / subset / CNV call, subset-marker dot plot, confidence histograms."""
    out = io.output
    adata.obs["lineage"] = lineage
    adata.obs["final_subset"] = cells["final_subset"].astype(str)
    adata.obs["cnv_call"] = cells["cnv_call"].astype(str)
    report_annotation.umap_by(adata, keys=("lineage", "final_subset", "cnv_call")).savefig(
        out["umap"], dpi=110, bbox_inches="tight"
    )
    genes = {s.name: list(s.genes) for s in markers.subsets}
    try:
        fig = report_annotation.marker_dotplot(adata, markers=genes, groupby="final_subset")
    except ValueError as err:
        fig = _note_figure(str(err))
    fig.savefig(out["dotplot"], dpi=110, bbox_inches="tight")
    lineage_conf = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)["confidence"]
    report_annotation.confidence_distribution(
        {"lineage": lineage_conf, "subset": cells["subset_confidence"]},
        threshold=min_confidence,
    ).savefig(out["confidence"], dpi=110, bbox_inches="tight")


def _note_figure(text: str):
    fig = plt.figure(figsize=(7, 1.5))
    fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    return fig


def _with_calls(adata: ad.AnnData, calls: pd.DataFrame) -> ad.AnnData:
    adata.obs["cnv_call"] = calls["cnv_call"].reindex(adata.obs_names).astype(str).to_numpy()
    adata.obs["cnv_call"] = adata.obs["cnv_call"].astype("category")
    return adata
