"""Stage ``enrichment``: gseapy prerank per compartment (rule ``workflow/rules/enrichment.smk``).

Inputs
    ``clustered``: ``results/{dataset}/clustered.h5ad`` (log-normalised ``X``);
    ``annotation``: ``results/{dataset}/annotation.tsv`` (``compartment`` per cell);
    ``library_gmt``: ``results/signatures/tmesig.gmt``;
    ``hallmark_gmt``: the shipped MSigDB Hallmark GMT.
Outputs
    ``table``: ``results/{dataset}/enrichment.tsv`` (see :func:`tmesig.enrichment.prerank`),
    with the run's ``input_mode``. The genes are ranked by scanpy's ``rank_genes_groups``
    statistic on the log-normalised ``X`` (a t-test, Wilcoxon or logistic regression: no
    gene-level count model), so the ranking is the same kind for ``normalised`` input. The
    file is opened backed: the t-tests stream it a chunk of cells at a time
    (:func:`tmesig.enrichment.rank_genes_chunked`, the same scores as scanpy's); Wilcoxon and
    logistic regression hold at most ``MAX_CELLS_IN_MEMORY`` cells (a stratified sample).
Params
    ``enrichment``: the config section (``method``, ``permutation_num``, ``seed``,
    ``min_size``, ``max_size``).
"""

import pandas as pd

from .. import enrichment, signatures
from ..input_mode import input_mode
from ..io.expression import read_expression
from ._io import StageIO

__all__ = ["CHUNK_CELLS", "MAX_CELLS_IN_MEMORY", "run"]

#: Cells read at a time by the streamed t-tests (about 27 bytes per non-zero of a chunk).
CHUNK_CELLS = 10_000
#: Most cells ``wilcoxon`` / ``logreg`` hold in memory; above, a stratified sample.
MAX_CELLS_IN_MEMORY = 50_000


def run(io: StageIO) -> str:
    """Rank genes per compartment and run prerank against the library and Hallmark.

    Parameters
    ----------
    io : StageIO
        Inputs ``clustered``, ``annotation``, ``library_gmt``, ``hallmark_gmt``; output
        ``table``; param ``enrichment``.

    Returns
    -------
    str
        ``"<rows> enrichment rows for <groups> compartments"``.
    """
    p = io.params["enrichment"]
    adata = read_expression(io.input["clustered"], backed=True)
    comp = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)["compartment"]
    labels = comp.reindex(adata.obs_names).astype(str)
    opts = enrichment.RankOptions.from_config(
        p, chunk_size=CHUNK_CELLS, max_cells=MAX_CELLS_IN_MEMORY
    )
    rankings = enrichment.rank_genes_chunked(adata, labels, options=opts)
    collections = {
        "tmesig": signatures.read_gmt(io.input["library_gmt"]),
        "hallmark": signatures.read_gmt(io.input["hallmark_gmt"]),
    }
    res = enrichment.prerank(
        rankings,
        collections,
        permutation_num=p["permutation_num"],
        seed=p["seed"],
        min_size=p["min_size"],
        max_size=p["max_size"],
        threads=io.threads,
    )
    res["input_mode"] = input_mode(adata)
    adata.file.close()
    res.to_csv(io.output["table"], sep="\t", index=False, float_format="%.6g")
    return f"{len(res)} enrichment rows for {len(rankings)} compartments"
