"""Stage ``cluster``: normalise, highly variable genes, PCA, neighbours, Leiden, UMAP.

Inputs
    ``h5ad`` (``qc.h5ad``: QC-passed cells, counts in ``layers["counts"]``).
Outputs
    ``h5ad`` (``clustered.h5ad``: log-normalised ``X``, ``obs["leiden"]``, PCA, UMAP).
Params
    ``cluster`` (config section: ``n_hvg``, ``n_pcs``, ``n_neighbors``, ``resolution``,
    ``batch_key``, ``seed``).
"""

import anndata as ad

from .. import cluster as clustering
from ..io.write import write_h5ad_deterministic
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Cluster the QC-passed cells and write the clustered data.

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
    adata = ad.read_h5ad(io.input["h5ad"])
    clustering.cluster(
        adata,
        n_hvg=p["n_hvg"],
        n_pcs=p["n_pcs"],
        n_neighbors=p["n_neighbors"],
        resolution=p["resolution"],
        batch_key=p["batch_key"],
        seed=p["seed"],
    )
    n_clusters = adata.obs["leiden"].nunique()
    write_h5ad_deterministic(adata, io.output["h5ad"])
    return f"{n_clusters} Leiden clusters"
