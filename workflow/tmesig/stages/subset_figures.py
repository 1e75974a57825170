"""Stage ``subset_figures``: the figures of the subset calls (after rule ``states`` joined
the sub-clustering and the copy-number calls).

Inputs
    ``h5ad`` (``clustered.h5ad``: only the subset marker genes are read), ``umap``
    (``umap.tsv``), ``cells`` (``annotation_subsets.tsv``), ``annotation``
    (``annotation_lineages.tsv``: lineage and its confidence), ``markers`` (subset marker YAML).
Outputs
    ``umap`` (by lineage and final subset, subsets in shades of their lineage),
    ``umap_malignancy`` (by CNV call; a framed note when CNV inference is off), ``dotplot``
    (subset markers), ``confidence`` (lineage and subset confidence, each with its threshold).
Params
    ``subsets`` (config section: ``min_confidence``, ``cnv``); ``lineage_min_confidence``
    (optional: ``annotate.min_confidence``, drawn on the lineage confidence panel).
"""

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import report_annotation
from ..cluster import read_umap
from ..constants import LINEAGES, MALIGNANT, UNASSIGNED
from ..figures import note_figure
from ..io.expression import read_expression
from ..subsets import load_subset_markers
from ._io import StageIO

__all__ = ["CNV_DISABLED", "parents_of", "run", "save"]

#: Text of the CNV figures when copy-number inference is switched off.
CNV_DISABLED = "copy-number inference disabled (subsets.cnv: false)"


def save(fig: Figure, path: str, *, dpi: int = 120) -> None:
    """Write ``fig`` to ``path`` (tight box) and close it.

    Parameters
    ----------
    fig
        The figure.
    path
        The PNG file.
    dpi
        Resolution.
    """
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def parents_of(markers, *, cells: pd.DataFrame | None = None) -> dict[str, str]:
    """Subset -> lineage (its colour family): the marker file's, then, for final subsets the
    file does not name (``other_normal_epithelium``), the lineage most of their cells have.

    Parameters
    ----------
    markers
        The subset markers (:func:`tmesig.subsets.load_subset_markers`).
    cells
        Optional per-cell ``lineage`` and ``final_subset``.
    """
    out = {s.name: s.lineage for s in markers.subsets}
    if cells is not None and "lineage" in cells.columns:
        other = cells[~cells["final_subset"].isin([*out, *LINEAGES, MALIGNANT, UNASSIGNED])]
        for state, lin in other.groupby("final_subset")["lineage"]:
            out[str(state)] = str(lin.astype(str).value_counts().sort_index().idxmax())
    return out


def run(io: StageIO) -> str:
    """Draw the UMAPs by subset and by malignancy, the marker dot plot, the confidences.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"4 figures for <n> cells"``.
    """
    out, p = io.output, io.params["subsets"]
    cells = pd.read_csv(io.input["cells"], sep="\t", index_col=0)
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    markers = load_subset_markers(io.input["markers"])
    embedded = ad.AnnData(obs=pd.DataFrame(index=cells.index.astype(str)))
    embedded.obsm["X_umap"] = read_umap(io.input["umap"], embedded.obs_names)
    embedded.obs["lineage"] = annotation.loc[cells.index, "compartment"].astype(str).to_numpy()
    embedded.obs["final_subset"] = cells["final_subset"].astype(str).to_numpy()
    embedded.obs["cnv_call"] = cells["cnv_call"].astype(str).to_numpy()
    titles = {"lineage": "lineage", "final_subset": "subset (shades of its lineage's colour)"}
    parents = parents_of(markers, cells=cells)
    keys = ("lineage", "final_subset")
    fig = report_annotation.umap_by(embedded, keys=keys, titles=titles, parents=parents)
    save(fig, out["umap"])
    if p["cnv"]:
        titles = {"cnv_call": "malignancy (inferred copy number)"}
        fig = report_annotation.umap_by(embedded, keys=("cnv_call",), titles=titles)
    else:
        fig = note_figure(CNV_DISABLED, title="No copy-number figure")
    save(fig, out["umap_malignancy"])
    genes = {s.name: list(s.genes) for s in markers.subsets}
    dots = read_expression(io.input["h5ad"], genes=[g for v in genes.values() for g in v])
    dots.obs["final_subset"] = cells["final_subset"].reindex(dots.obs_names).astype(str).to_numpy()
    try:
        fig = report_annotation.marker_dotplot(dots, markers=genes, groupby="final_subset")
    except ValueError as err:
        fig = note_figure(str(err), title="No subset marker in the data")
    save(fig, out["dotplot"])
    thresholds = {"subset": p["min_confidence"]}
    if io.params.get("lineage_min_confidence") is not None:
        thresholds["lineage"] = float(io.params["lineage_min_confidence"])
    fig = report_annotation.confidence_distribution(
        {"lineage": annotation["confidence"], "subset": cells["subset_confidence"]},
        thresholds=thresholds,
    )
    save(fig, out["confidence"])
    return f"4 figures for {len(cells):,} cells"
