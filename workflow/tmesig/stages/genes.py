"""Stage ``genes``: genes shown as genes, per compartment at the lineage and state level.

Inputs
    ``clustered`` (``clustered.h5ad``, read backed, a chunk of cells at a time),
    ``annotation`` (``annotation.tsv``: ``compartment`` and, once the state stage has run,
    ``state`` and ``parent``), ``coverage`` (``coverage.tsv``), ``sets`` (the library's set
    files).
Outputs
    ``table``: ``genes.tsv`` (:func:`tmesig.genes_view.gene_table`: the card genes, the genes
    of sets not scored for too few genes and of sets whose genes span lineages);
    ``dotplot``: the card genes by lineage and by state (PNG).
Params
    ``genes``: the config's ``genes`` section (:class:`tmesig.genes_view.GeneViewOptions`).
"""

import matplotlib.pyplot as plt
import pandas as pd

from .. import genes_view, signatures
from ..constants import COL_STATE
from ..figures.gene_dots import dotplot_levels
from ..gene_groups import cell_groups, gene_matrix
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Write ``genes.tsv`` and the dot plot; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    opts = genes_view.GeneViewOptions.from_config(io.params.get("genes") or {})
    library = signatures.load_library(io.input["sets"])
    adata = read_expression(io.input["clustered"], backed=True)
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    coverage = pd.read_csv(io.input["coverage"], sep="\t")
    table = genes_view.gene_table(
        adata, library, annotation=annotation, coverage=coverage, options=opts
    )
    table.to_csv(io.output["table"], sep="\t", index=False)
    card = signatures.card_genes(library)
    matrix = gene_matrix(adata, card, chunk_size=opts.chunk_size)
    fig = dotplot_levels(matrix, card, groups=cell_groups(adata, annotation))
    fig.savefig(io.output["dotplot"], dpi=150, bbox_inches="tight")
    plt.close(fig)
    genes = table.drop_duplicates("gene")
    absent = genes.loc[~genes["measured"].astype(bool), "gene"].tolist()
    levels = "lineage and state" if COL_STATE in annotation else "lineage (no state column)"
    more = f" and {len(absent) - 6} more (genes.tsv)" if len(absent) > 6 else ""
    unmeasured = f"; not measured: {', '.join(absent[:6])}{more}" if absent else ""
    return f"{len(genes)} genes by {levels}{unmeasured}"
