"""Stage ``annotate``: lineage compartment per cell and cluster; agreement with external labels.

Inputs
    ``h5ad`` (``clustered.h5ad``), ``markers`` (compartment marker YAML); ``celltypist``
    (the model file, when configured: only a dependency, the path comes from params).
Outputs
    ``cells`` (``annotation.tsv``), ``clusters`` (``annotation_clusters.tsv``),
    ``agreement`` (``label_agreement.tsv``: ours vs the author labels, or a note),
    ``celltypist`` (``celltypist_agreement.tsv``: ours vs CellTypist, or a note);
    ``markers_found`` (optional, ``annotation_markers.tsv``: per lineage the markers listed,
    measured and used, cells called, and a note when the lineage cannot be called).
    ``annotation.tsv`` and ``annotation_clusters.tsv`` carry the run's ``input_mode``; on a
    targeted panel the candidates are :data:`tmesig.annotate.PANEL_MARKERS` (after a custom
    marker file's own genes) and clusters are called by :func:`tmesig.annotate.annotate_panel`.
Params
    ``annotate`` (config section: thresholds, ``label_mapping``, ``use_author_labels``,
    ``celltypist_*``), ``row`` (the sample-sheet row: ``label_col``).
"""

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import h5py
import pandas as pd

from .. import celltypist_bridge as ext
from ..annotate import (
    DEFAULT_MARKERS,
    PANEL_MARKERS,
    AnnotateOptions,
    PanelOptions,
    annotate,
    annotate_panel,
    load_markers,
    markers_found,
    merge_markers,
)
from ..constants import LINEAGES
from ..input_mode import PANEL, input_mode
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["genes_needed", "run"]

logger = logging.getLogger("tmesig")


def _call(adata, mode: str, *, markers, candidates, options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lineage calls per cell and per cluster: on a panel, cluster-level calls where one
    marker suffices (:mod:`tmesig.annotate._panel_calls`); else marker scores per cell."""
    if mode != PANEL:
        return annotate(adata, markers, cluster_key="leiden", options=options)
    cells, clusters, _ = annotate_panel(adata, candidates, cluster_key="leiden", core=markers)
    if cells.attrs.get("rescued"):
        logger.info(
            "panel: unassigned clusters called from their resemblance to called lineages: %s",
            cells.attrs["rescued"],
        )
    return cells, clusters


def genes_needed(mode: str, candidates: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The genes the lineage calls read: the candidate markers; every gene on a panel.

    On a targeted panel (a few hundred genes) :func:`tmesig.annotate.annotate_panel`
    sub-clusters mixed clusters on a PCA of every panel gene, so all are read; otherwise only
    the markers (:func:`tmesig.annotate.marker_scores` uses nothing else), so the stage never
    holds the whole matrix. CellTypist reads the file itself, a chunk of cells at a time.

    Parameters
    ----------
    mode
        The run's input mode (:mod:`tmesig.input_mode`).
    candidates
        Lineage -> candidate markers.

    Returns
    -------
    list of str or None
        The genes (sorted), or None for every gene.
    """
    if mode == PANEL:
        return None
    return sorted({str(g) for genes in candidates.values() for g in genes})


def _mode_and_genes(path: str) -> tuple[str, pd.Index]:
    """The input mode and every gene of ``clustered.h5ad``, read without the matrix."""
    with h5py.File(path, "r") as f:
        uns = ad.io.read_elem(f["uns"]) if "uns" in f else {}
        var = ad.io.read_elem(f["var"])
    return input_mode(ad.AnnData(uns=uns)), pd.Index(var.index.astype(str))


def run(io: StageIO) -> str:
    """Annotate compartments, compare with author labels / CellTypist, write the tables.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        The number of cells per compartment.
    """
    p = io.params["annotate"]
    label_col = io.params["row"].get("label_col", "")
    mode, var_names = _mode_and_genes(io.input["h5ad"])
    candidates = load_markers(io.input["markers"])
    markers = candidates
    if mode == PANEL:
        panel = load_markers(PANEL_MARKERS)  # panel candidate markers
        default = Path(io.input["markers"]).resolve() == DEFAULT_MARKERS.resolve()
        candidates = panel if default else merge_markers(candidates, panel)
    adata = read_expression(io.input["h5ad"], genes=genes_needed(mode, candidates))
    options = AnnotateOptions(
        min_confidence=p["min_confidence"], min_margin=p["min_margin"], min_score=p["min_score"]
    )
    cells, clusters = _call(adata, mode, markers=markers, candidates=candidates, options=options)
    found = markers_found(
        candidates,
        cells.attrs["markers_used"],
        cells["compartment"],
        var_names=var_names,
        min_markers=1 if mode == PANEL else options.min_markers,
        few=PanelOptions().top_k if mode == PANEL else 0,
    )
    for note in found.loc[~found["callable"], "note"]:
        logger.warning("input mode %s: %s", mode, note)
    cells.insert(0, "source", "tmesig markers")
    if label_col:
        cells, table, fraction = ext.author_agreement(
            cells,
            adata,
            label_col,
            mapping=p["label_mapping"] or None,
            use_author_labels=p["use_author_labels"],
            dataset=io.input["h5ad"],
        )
        table.to_csv(io.output["agreement"], sep="\t")
        _log_agreement(table, fraction, label_col, p["label_mapping"] or {})
    else:
        ext.note_table(ext.NO_AUTHOR_LABELS).to_csv(io.output["agreement"], sep="\t", index=False)
    del adata  # CellTypist reads the file itself, a chunk of cells at a time
    if p["celltypist_model"]:
        cells, table, fraction = ext.celltypist_agreement(
            cells,
            io.input["h5ad"],  # every gene of the model: predicted a chunk of cells at a time
            model_path=p["celltypist_model"],
            majority_voting=p["celltypist_majority_voting"],
            mapping=p["celltypist_mapping"] or None,
            sha256=p["celltypist_sha256"],
        )
        table.to_csv(io.output["celltypist"], sep="\t")
        logger.info("agreement with CellTypist: %.3f", fraction)
    else:
        ext.note_table(ext.NO_CELLTYPIST_MODEL).to_csv(
            io.output["celltypist"], sep="\t", index=False
        )
    cells.index.name = "cell"
    cells["input_mode"] = mode
    clusters["input_mode"] = mode
    found.insert(1, "input_mode", mode)
    if "markers_found" in io.output:
        found.to_csv(io.output["markers_found"], sep="\t", index=False)
    cells.to_csv(io.output["cells"], sep="\t", float_format="%.6g")
    clusters.to_csv(io.output["clusters"], sep="\t", index=False, float_format="%.6g")
    counts = cells["compartment"].value_counts()
    return "cells per compartment: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())


def _log_agreement(table, fraction: float, label_col: str, mapping: dict) -> None:
    """The agreement fraction, or why it means nothing: no author label (after
    ``annotate.label_mapping``) names a tmesig lineage, so no cell can agree."""
    labels = {mapping.get(str(c), str(c)) for c in table.columns}
    if labels & set(LINEAGES):
        logger.info("agreement with author labels (%s): %.3f", label_col, fraction)
    else:
        logger.warning(
            "agreement with author labels (%s) not computed: none of its labels names a "
            "tmesig lineage; map them with annotate.label_mapping (label_agreement.tsv has "
            "the cross-table)",
            label_col,
        )
