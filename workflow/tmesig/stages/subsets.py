"""Stage ``subsets``: subsets inside each lineage, malignant cells from copy number, figures.

Inputs
    ``h5ad`` (``clustered.h5ad``), ``annotation`` (``annotation_lineages.tsv``: rule
    ``annotate``'s ``compartment`` and ``confidence`` per cell), ``markers`` (subset marker YAML).
Outputs
    ``cells`` (``annotation_subsets.tsv``), ``clusters`` (``annotation_subclusters.tsv``),
    figures ``umap`` (by lineage and final subset, subsets in shades of their lineage),
    ``umap_malignancy`` (by CNV call), ``dotplot`` (subset markers), ``confidence`` (lineage
    and subset confidence, each with its threshold), ``cnv_heatmap`` (annotated by lineage,
    use in the purified reference, CNV call and the author label when the lineage table has
    one) and ``cnv_scatter`` (the
    three CNV figures are a framed note when CNV inference is off).
Params
    ``subsets`` (config section: ``resolution``, ``seed``, ``min_confidence``,
    ``propagation_alpha``, ``cnv``, ``cnv_window``); ``lineage_min_confidence`` (optional:
    ``annotate.min_confidence``, drawn on the lineage confidence panel); ``label_mapping``
    (optional: ``annotate.label_mapping``, to list author-epithelial cells in the CNV
    reference).

Memory: ``clustered.h5ad`` is opened backed; each lineage's cells, the capped CNV cells
(``subsets.cnv_max_cells``) and the subset marker genes (dot plot) are read, log-normalised,
when needed (:func:`tmesig.io.kept_cells.read_rows`), never the whole matrix at once.
"""

import logging

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import report_annotation
from ..cnv import CnvCap, CnvOptions, call_malignant_capped, epithelial_like, note_epithelial_like
from ..constants import COL_SAMPLE, LINEAGES, MALIGNANT, UNASSIGNED
from ..figures import note_figure
from ..io.expression import read_expression
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
    # backed: each lineage, the capped CNV cells and the marker genes are read when needed
    adata = read_expression(io.input["h5ad"], backed=True)
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    lineage = annotation.loc[adata.obs_names, "compartment"].astype(str)
    markers = load_subset_markers(io.input["markers"])
    options = SubsetOptions(
        resolution=p["resolution"],
        seed=p["seed"],
        min_confidence=p["min_confidence"],
        propagation_alpha=p["propagation_alpha"],
        sketch_above=p.get("sketch_above", 50_000),
    )
    cells, clusters = annotate_subsets(adata, lineage, markers=markers, options=options)
    if p["cnv"]:
        calls, profiled = call_malignant_capped(
            adata,
            lineage=lineage,
            sample=adata.obs.get(COL_SAMPLE, pd.Series("all", index=adata.obs_names)),
            options=CnvOptions(window_size=p["cnv_window"], seed=p["seed"]),
            cap=CnvCap.from_config(p),
        )
        like = epithelial_like(annotation, label_mapping=io.params.get("label_mapping"))
        calls, cnv_line = note_epithelial_like(calls, like)
        cells = cells.join(calls.drop(columns=["lineage"]))
        cells["final_subset"] = merge_malignant(cells, calls)
        logger.info("CNV: %s", {k: v for k, v in calls.attrs.items() if k != "clones"})
        logger.info("CNV clusters and clones: %s", calls.attrs.get("clones"))
        cnv_line = (
            f"; {cnv_line}; {calls.attrs['n_malignant_other_lineage']:,} malignant cells "
            "annotated in another lineage"
        )
        _with_calls(profiled, calls, lineage.loc[profiled.obs_names], annotation)
        parents = _parents(markers)
        fig = report_annotation.cnv_heatmap(profiled, seed=p["seed"], parents=parents)
        _save(fig, out["cnv_heatmap"], 100)
        _save(report_annotation.cnv_scatter(calls), out["cnv_scatter"])
    else:
        cnv_line = ""
        cells["cnv_call"] = "not run"
        cells["final_subset"] = cells["subset"]
        for f in (out["cnv_heatmap"], out["cnv_scatter"], out["umap_malignancy"]):
            _save(note_figure(CNV_DISABLED, title="No copy-number figure"), f)
    cells.index.name = "cell"
    cells.to_csv(out["cells"], sep="\t", float_format="%.6g")
    clusters.to_csv(out["clusters"], sep="\t", index=False, float_format="%.6g")
    _figures(io, adata, lineage, cells, markers, cnv=bool(p["cnv"]))
    counts = cells["final_subset"].value_counts()
    called = int(counts.drop(UNASSIGNED, errors="ignore").sum())
    top = ", ".join(f"{k} {v:,}" for k, v in counts.drop(UNASSIGNED, errors="ignore")[:4].items())
    malignant = int((cells.get("cnv_call", pd.Series(dtype=str)) == MALIGNANT).sum())
    return (
        f"subsets called for {called:,} of {len(cells):,} cells ({top}...); "
        f"{malignant:,} malignant by copy number{cnv_line}"
    )


def _save(fig: Figure, path: str, dpi: int = 120) -> None:
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _parents(markers, cells: pd.DataFrame | None = None) -> dict[str, str]:
    """Subset -> lineage (its colour family): the marker file's, then, for final subsets the
    file does not name (``other_normal_epithelium``), the lineage most of their cells have."""
    out = {s.name: s.lineage for s in markers.subsets}
    if cells is not None and "lineage" in cells.columns:
        other = cells[~cells["final_subset"].isin([*out, *LINEAGES, MALIGNANT, UNASSIGNED])]
        for state, lin in other.groupby("final_subset")["lineage"]:
            out[str(state)] = str(lin.astype(str).value_counts().sort_index().idxmax())
    return out


def _figures(io: StageIO, adata, lineage, cells, markers, *, cnv: bool) -> None:
    """UMAPs by lineage / subset and by CNV call, marker dot plot, confidence histograms."""
    out = io.output
    adata.obs["lineage"] = lineage
    adata.obs["final_subset"] = cells["final_subset"].astype(str)
    adata.obs["cnv_call"] = cells["cnv_call"].astype(str)
    parents = _parents(markers, cells)
    titles = {"lineage": "lineage", "final_subset": "subset (shades of its lineage's colour)"}
    fig = report_annotation.umap_by(
        adata, keys=("lineage", "final_subset"), titles=titles, parents=parents
    )
    _save(fig, out["umap"])
    if cnv:
        titles = {"cnv_call": "malignancy (inferred copy number)"}
        _save(
            report_annotation.umap_by(adata, keys=("cnv_call",), titles=titles),
            out["umap_malignancy"],
        )
    genes = {s.name: list(s.genes) for s in markers.subsets}
    dots = read_expression(io.input["h5ad"], genes=[g for v in genes.values() for g in v])
    dots.obs["final_subset"] = adata.obs["final_subset"].to_numpy()
    try:
        fig = report_annotation.marker_dotplot(dots, markers=genes, groupby="final_subset")
    except ValueError as err:
        fig = note_figure(str(err), title="No subset marker in the data")
    _save(fig, out["dotplot"])
    lineage_conf = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)["confidence"]
    p = io.params["subsets"]
    thresholds = {"subset": p["min_confidence"]}
    if io.params.get("lineage_min_confidence") is not None:
        thresholds["lineage"] = float(io.params["lineage_min_confidence"])
    fig = report_annotation.confidence_distribution(
        {"lineage": lineage_conf, "subset": cells["subset_confidence"]}, thresholds=thresholds
    )
    _save(fig, out["confidence"])


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
