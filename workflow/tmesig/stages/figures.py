"""Stage ``figures``: the per-dataset report figures (rule ``figures``, workflow/rules/report.smk).

Inputs
    ``clustered`` (``clustered.h5ad``: ``obs`` ``sample``, ``patient``, ``condition`` and the
    card genes), ``umap`` (``umap.tsv``), ``annotation`` (``annotation.tsv``), ``scores``
    (``scores.parquet``), ``coverage`` (``coverage.tsv``), ``flags`` (``flags.tsv``),
    ``compartments`` (``compartments.tsv``), ``qc_metrics`` and ``qc_summary`` (QC tables),
    ``sets`` (the library's set files).
Outputs
    ``umap_compartment``, ``umap_samples`` (by sample, patient and condition when they
    differ), ``umap_scores`` (card sets, titled with direction and coverage), ``dotplot``
    (card genes by compartment, :func:`tmesig.signatures.card_genes`), ``heatmap``
    (lineage x set, grouped by where the sets act), ``heatmap_states`` (optional: cell state
    x set, or a note when there are no state rows), ``qc_violin``: PNG files.
Params
    ``flag`` (optional): the config's ``flag`` section; its ``alpha`` marks the heatmap
    (default 0.05).
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import report, signatures
from ..cluster import read_umap
from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_LEVEL,
    COL_PATIENT,
    COL_SAMPLE,
    LEVEL_LINEAGE,
    LEVEL_STATE,
)
from ..figures import note_figure
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["run"]


def _save(fig: Figure, path: str | Path, dpi: int = 130) -> None:
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _sample_keys(obs: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """Panels of the sample UMAP: sample; patient unless it equals sample; condition if any."""
    keys, titles = [COL_SAMPLE], {COL_SAMPLE: "sample"}
    sample = obs[COL_SAMPLE].astype(str)
    patient = obs[COL_PATIENT].astype(str) if COL_PATIENT in obs else sample
    if (sample == patient).all():
        titles[COL_SAMPLE] = "sample (each sample is its own patient)"
    else:
        keys.append(COL_PATIENT)
    if COL_CONDITION in obs and obs[COL_CONDITION].astype(str).nunique() > 1:
        keys.append(COL_CONDITION)
    return keys, titles


def run(io: StageIO) -> str:
    """Draw and write the six figures.

    Parameters
    ----------
    io : StageIO
        Inputs, outputs and params as listed in the module docstring.

    Returns
    -------
    str
        ``"6 figures for <n> cells"``.
    """
    out = io.output
    library = signatures.load_library(io.input["sets"])
    genes = signatures.card_genes(library)
    # only the genes the dot plot draws; the UMAPs use obs and umap.tsv
    adata = read_expression(io.input["clustered"], genes=genes)
    adata.obsm["X_umap"] = read_umap(io.input["umap"], adata.obs_names)
    ann = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    adata.obs[COL_COMPARTMENT] = ann.loc[adata.obs_names, COL_COMPARTMENT].astype("category")
    scores = pd.read_parquet(io.input["scores"]).loc[adata.obs_names]
    coverage = pd.read_csv(io.input["coverage"], sep="\t")
    umap = adata.obsm["X_umap"]

    fig = report.umap_categorical(umap, adata.obs[COL_COMPARTMENT], title="TME compartment")
    _save(fig, out["umap_compartment"])
    keys, titles = _sample_keys(adata.obs)
    _save(report.umap_by(adata, keys=keys, titles=titles), out["umap_samples"])
    card = [gs for gs in library if gs.card]
    _save(report.umap_scores(umap, scores, sets=card, coverage=coverage), out["umap_scores"])
    _save(report.dotplot_genes(adata, genes, groupby=COL_COMPARTMENT), out["dotplot"], 150)
    alpha = float((io.params.get("flag") or {}).get("alpha", 0.05))
    flags = pd.read_csv(io.input["flags"], sep="\t")
    comps = pd.read_csv(io.input["compartments"], sep="\t")
    fig = report.heatmap_compartment_sets(
        comps, flags, sets=library, alpha=alpha, level=LEVEL_LINEAGE
    )
    _save(fig, out["heatmap"])
    if "heatmap_states" in out:
        _save(_heatmap_states(comps, flags, library, alpha), out["heatmap_states"])
    metrics = pd.read_csv(io.input["qc_metrics"], sep="\t", index_col=0)
    summary = pd.read_csv(io.input["qc_summary"], sep="\t")
    _save(report.qc_violins(metrics, summary=summary), out["qc_violin"], 120)
    return f"{6 + ('heatmap_states' in out)} figures for {adata.n_obs:,} cells"


def _heatmap_states(comps: pd.DataFrame, flags: pd.DataFrame, library, alpha: float):
    """The state-level heatmap, or a note when no state has rows (subsets disabled)."""
    states = comps[COL_LEVEL] == LEVEL_STATE if COL_LEVEL in comps else comps.index < 0
    if not states.any():
        return note_figure(
            "no cell-state rows in compartments.tsv (every state is unassigned, e.g. with "
            "subsets.enabled: false)",
            title="No cell-state heatmap",
        )
    return report.heatmap_compartment_sets(
        comps, flags, sets=library, alpha=alpha, level=LEVEL_STATE
    )
