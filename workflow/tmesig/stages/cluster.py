"""Stage ``cluster``: the QC-kept cells, normalised, highly variable genes, PCA, Leiden.

Inputs
    ``h5ad`` (``ingested.h5ad``: the stored values, read a chunk of cells at a time);
    ``metrics`` (``qc_metrics.tsv``: column ``kept``, the per-cell QC metrics); ``summary``
    (``qc_summary.tsv``: the input mode QC resolved, :func:`tmesig.qc.read_input_mode`).
Outputs
    ``h5ad`` (``clustered.h5ad``, the one matrix file downstream: ``X`` = the stored values
    of the kept cells and genes (streamed from ``ingested.h5ad``; no log-normalised copy, no
    counts layer), ``obs`` with the QC metrics, ``size_factor`` and ``leiden``, ``var``
    ``highly_variable``, PCA, the kNN graph (or the sketch), ``uns["tmesig_expression"]``:
    see :mod:`tmesig.io.expression`, whose ``read_expression`` opens it). UMAP is stage
    :mod:`~tmesig.stages.umap`'s (rule ``umap``, beside annotation and scoring).
Params
    ``cluster`` (config section: ``n_hvg``, ``n_pcs``, ``n_neighbors``, ``resolution``,
    ``batch_key``, ``seed``; above ``sketch_above`` kept cells, the large path:
    :func:`tmesig.cluster.streamed_expression`, then a sketch of ``sketch_size``); ``qc``
    (``min_cells_per_gene``); ``ingest`` (``input_mode``, resolved with the data when no
    ``summary`` is given).
"""

from .. import cluster as clustering
from ..input_mode import resolve_input_mode, store_input_mode
from ..io.expression import EXPRESSION_KEY, ROW_CHUNK, STORED, normalise_in_place
from ..io.kept_cells import kept_blocks, read_kept, read_qc_metrics, scan_kept
from ..io.write import write_h5ad_streamed
from ..qc import read_input_mode
from ._io import StageIO

__all__ = ["run"]

#: Ingested cells read at a time by the large path's passes (half the usual chunk: its
#: transient copies set the stage's peak at 100,000 cells).
_STREAM_CHUNK = ROW_CHUNK // 2


def run(io: StageIO) -> str:
    """Cluster the QC-kept cells and write ``clustered.h5ad`` (stored values).

    Above ``cluster.sketch_above`` kept cells, the matrix is never held whole: gene
    statistics are streamed from ``ingested.h5ad`` and only the highly variable genes'
    columns are read (:func:`tmesig.cluster.streamed_expression`); the results are those
    of the in-memory path.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        The number of Leiden clusters.
    """
    p = io.params["cluster"]
    metrics = read_qc_metrics(io.input["metrics"])
    min_cells = int(io.params.get("qc", {}).get("min_cells_per_gene", 3))
    sketch = clustering.SketchOptions.from_config(p)
    large = sketch.applies(int(metrics["kept"].sum()))
    if large:
        adata, kept = scan_kept(
            io.input["h5ad"], metrics, min_cells_per_gene=min_cells, chunk_size=_STREAM_CHUNK
        )
    else:
        adata, kept = read_kept(io.input["h5ad"], metrics, min_cells_per_gene=min_cells)
    if "summary" in io.input:  # the mode QC resolved on every ingested cell
        mode = read_input_mode(io.input["summary"])
    else:
        requested = io.params.get("ingest", {}).get("input_mode", "auto")
        mode = resolve_input_mode(adata, requested=requested)
    store_input_mode(adata, mode)
    options = {k: p[k] for k in ("n_pcs", "n_neighbors", "resolution", "batch_key", "seed")}
    if large and sketch.applies(adata.n_obs):
        n_hvg = min(p["n_hvg"], adata.n_vars)
        clustering.streamed_expression(
            adata,
            io.input["h5ad"],
            kept,
            mode=mode,
            n_hvg=n_hvg,
            batch_key=p["batch_key"],
            chunk_size=_STREAM_CHUNK,
        )
        clustering.cluster_marked(adata, n_hvg=n_hvg, sketch=sketch, **options)
    else:
        if large:  # every kept cell's row named in qc_metrics.tsv but fewer in the file
            adata, kept = read_kept(io.input["h5ad"], metrics, min_cells_per_gene=min_cells)
            store_input_mode(adata, mode)
        normalise_in_place(adata, mode=mode)
        n_hvg = min(p["n_hvg"], adata.n_vars)
        key = p["batch_key"]
        batch = key if key and adata.obs[key].nunique() > 1 else None
        clustering.pca_genes(adata, n_hvg=n_hvg, n_pcs=p["n_pcs"], batch_key=batch, chunked=False)
        clustering.cluster_marked(adata, n_hvg=n_hvg, sketch=sketch, **options)
    n_clusters = adata.obs["leiden"].nunique()
    adata.X = None
    adata.uns[EXPRESSION_KEY] = {**adata.uns[EXPRESSION_KEY], "x": STORED}
    chunk = _STREAM_CHUNK if large else ROW_CHUNK
    blocks = kept_blocks(io.input["h5ad"], kept, chunk_size=chunk)
    write_h5ad_streamed(adata, blocks, io.output["h5ad"])
    return f"{n_clusters} Leiden clusters"
