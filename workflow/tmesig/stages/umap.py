"""Stage ``umap``: the UMAP coordinates of every clustered cell (rule ``umap``).

Inputs
    ``h5ad`` (``clustered.h5ad``: ``obs``, ``obsm``, ``obsp`` and ``uns`` only; ``X`` is not
    read).
Outputs
    ``umap`` (``umap.tsv``: ``cell``, ``umap_1``, ``umap_2``), the coordinates
    :func:`tmesig.cluster.cluster` gives with ``umap=True``
    (:func:`tmesig.cluster.umap_embedding`).

The rule runs beside annotation, scoring and sub-clustering: seeded UMAP uses one core, and
only the figures need it.
"""

import anndata as ad

from ..cluster import umap_embedding, write_umap
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Embed the clustered cells with UMAP and write ``umap.tsv``.

    Parameters
    ----------
    io
        Input ``h5ad``, output ``umap``.

    Returns
    -------
    str
        How many cells were placed, and how.
    """
    adata = ad.read_h5ad(io.input["h5ad"], backed="r")
    try:
        light = ad.AnnData(
            obs=adata.obs[["in_sketch"]].copy(),
            obsm={k: adata.obsm[k] for k in adata.obsm},
            obsp={k: adata.obsp[k] for k in adata.obsp},
            uns={k: adata.uns[k] for k in ("tmesig_cluster", "neighbors") if k in adata.uns},
        )
    finally:
        adata.file.close()
    coords = umap_embedding(light)
    write_umap(coords, light.obs_names, io.output["umap"])
    n_sketch = int(light.obs["in_sketch"].sum())
    how = "" if n_sketch == light.n_obs else f" ({n_sketch:,} in the sketch, the others placed)"
    return f"UMAP of {light.n_obs:,} cells{how}"
