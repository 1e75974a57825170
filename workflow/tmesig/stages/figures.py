"""Stage ``figures``: the per-dataset report figures (rule ``figures``, workflow/rules/report.smk).

Inputs
    ``clustered`` (``clustered.h5ad``, with ``obsm["X_umap"]``), ``annotation``
    (``annotation.tsv``), ``scores`` (``scores.parquet``), ``flags`` (``flags.tsv``),
    ``compartments`` (``compartments.tsv``), ``qc_metrics`` (``qc_metrics.tsv``), ``sets``
    (the library's set files).
Outputs
    ``umap_compartment``, ``umap_scores`` (card sets), ``dotplot`` (card genes by
    compartment, :func:`tmesig.signatures.card_genes`), ``heatmap`` (compartment x set),
    ``qc_violin``: PNG files.
Params
    none read (the rule's ``card_genes`` is superseded by the library's card items).
"""

from pathlib import Path

import anndata as ad
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import report, signatures
from ._io import StageIO

__all__ = ["run"]


def _save(fig: Figure, path: str | Path, dpi: int) -> None:
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def run(io: StageIO) -> str:
    """Draw and write the five figures.

    Parameters
    ----------
    io : StageIO
        Inputs and outputs as listed in the module docstring.

    Returns
    -------
    str
        ``"5 figures for <n> cells"``.
    """
    out = io.output
    adata = ad.read_h5ad(io.input["clustered"])
    ann = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    adata.obs["compartment"] = ann.loc[adata.obs_names, "compartment"].astype("category")
    scores = pd.read_parquet(io.input["scores"]).loc[adata.obs_names]
    flags = pd.read_csv(io.input["flags"], sep="\t")
    comps = pd.read_csv(io.input["compartments"], sep="\t")
    metrics = pd.read_csv(io.input["qc_metrics"], sep="\t", index_col=0)
    umap = adata.obsm["X_umap"]

    fig = report.umap_categorical(umap, adata.obs["compartment"], title="TME compartment")
    _save(fig, out["umap_compartment"], 130)
    library = signatures.load_library(io.input["sets"])
    card = [gs.name for gs in library if gs.card]
    _save(report.umap_scores(umap, scores, sets=card), out["umap_scores"], 110)
    genes = signatures.card_genes(library)
    _save(report.dotplot_genes(adata, genes, groupby="compartment"), out["dotplot"], 130)
    _save(report.heatmap_compartment_sets(comps, flags), out["heatmap"], 130)
    _save(report.qc_violins(metrics), out["qc_violin"], 110)
    return f"5 figures for {adata.n_obs:,} cells"
