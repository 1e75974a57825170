"""UMAP after clustering (:func:`tmesig.cluster.cluster` calls it last).

The workflow clusters without UMAP (rule ``cluster``) and embeds in its own rule (``umap``),
which runs beside annotation, scoring and sub-clustering: UMAP is single-threaded when
seeded and nothing but the figures needs it. :func:`umap_embedding` reads what clustering
stored (the representation, the kNN graph or the sketch, the settings): scanpy's ``umap`` on
the stored graph, or on the sketch's graph (rebuilt by the same deterministic call) with each
other cell at the inverse-distance weighted mean position of its nearest sketch cells. The
coordinates are written as a table (``umap.tsv``, :func:`write_umap`).
"""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from ._knn import knn_graph
from ._transfer import knn_to_sketch, transfer_embedding

__all__ = ["read_umap", "umap_embedding", "write_umap"]

#: Columns of ``umap.tsv`` after ``cell``.
UMAP_COLUMNS = ("umap_1", "umap_2")


def _placed(
    sketch_umap: np.ndarray, idx: np.ndarray, rest: np.ndarray, nb: np.ndarray, dist: np.ndarray
) -> np.ndarray:
    """Every cell's UMAP position: the sketch's own, the others their neighbours' weighted mean.

    Parameters
    ----------
    sketch_umap
        UMAP of the sketch cells (sketch order).
    idx, rest
        Rows of the sketch cells and of the others.
    nb, dist
        Each other cell's nearest sketch cells (positions in ``idx``) and distances
        (:func:`tmesig.cluster.knn_to_sketch`).

    Returns
    -------
    numpy.ndarray
        Cells × 2, float32.
    """
    out = np.empty((len(idx) + len(rest), 2), dtype=np.float32)
    out[idx] = sketch_umap
    out[rest] = transfer_embedding(sketch_umap, nb, dist)
    return out


def umap_embedding(adata: ad.AnnData) -> np.ndarray:
    """UMAP of a clustered AnnData (:func:`tmesig.cluster.cluster_marked`'s output).

    Parameters
    ----------
    adata
        ``obs["in_sketch"]``, the representation clustered (``obsm["X_pca"]``, or
        ``obsm["X_pca_harmony"]`` with a batch key), ``uns["tmesig_cluster"]``, and without a
        sketch the kNN graph (``obsp``, ``uns["neighbors"]``). ``X`` is not read.

    Returns
    -------
    numpy.ndarray
        Cells × 2 float32.
    """
    settings = adata.uns["tmesig_cluster"]
    seed, k = int(settings["seed"]), int(settings["n_neighbors"])
    rep = "X_pca_harmony" if "X_pca_harmony" in adata.obsm else "X_pca"
    in_sketch = np.asarray(adata.obs["in_sketch"], dtype=bool)
    if in_sketch.all():
        graph = ad.AnnData(
            obs=pd.DataFrame(index=adata.obs_names),
            obsm={rep: np.asarray(adata.obsm[rep])},
            obsp={n: adata.obsp[n] for n in ("connectivities", "distances")},
            uns={"neighbors": dict(adata.uns["neighbors"])},
        )
        sc.tl.umap(graph, random_state=seed)
        return np.asarray(graph.obsm["X_umap"], dtype=np.float32)
    coords = np.asarray(adata.obsm[rep])
    idx, rest = np.flatnonzero(in_sketch), np.flatnonzero(~in_sketch)
    sub = ad.AnnData(obs=pd.DataFrame(index=adata.obs_names[idx]), obsm={rep: coords[idx]})
    knn_graph(sub, n_neighbors=k, use_rep=rep, seed=seed)
    sc.tl.umap(sub, random_state=seed)
    nb, dist = knn_to_sketch(coords, idx, rest, k=k, seed=seed)
    return _placed(sub.obsm["X_umap"], idx, rest, nb, dist)


def write_umap(coords: np.ndarray, obs_names, path: str | Path) -> None:
    """Write ``umap.tsv``: ``cell``, ``umap_1``, ``umap_2`` (``%.6g``).

    Parameters
    ----------
    coords
        Cells × 2.
    obs_names
        The cells, in the rows' order.
    path
        The table to write.
    """
    frame = pd.DataFrame(np.asarray(coords)[:, :2], index=pd.Index(obs_names, name="cell"))
    frame.columns = list(UMAP_COLUMNS)
    frame.to_csv(path, sep="\t", float_format="%.6g")


def read_umap(path: str | Path, obs_names) -> np.ndarray:
    """The coordinates of ``umap.tsv`` in the order of ``obs_names``.

    Parameters
    ----------
    path
        A table written by :func:`write_umap`.
    obs_names
        The cells wanted (each must be in the table).

    Returns
    -------
    numpy.ndarray
        Cells × 2, float32.

    Raises
    ------
    KeyError
        If a cell is not in the table.
    """
    frame = pd.read_csv(path, sep="\t", index_col=0, dtype={"cell": str})
    frame.index = frame.index.astype(str)
    wanted = pd.Index(obs_names).astype(str)
    missing = wanted.difference(frame.index)
    if len(missing):
        raise KeyError(f"{path}: {len(missing):,} cells have no UMAP position, e.g. {missing[0]}")
    return frame.loc[wanted, list(UMAP_COLUMNS)].to_numpy(dtype=np.float32)
