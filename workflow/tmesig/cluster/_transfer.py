"""Place the cells outside a sketch: nearest sketch cells in PCA (or Harmony) space.

Each cell outside the sketch gets its ``k`` nearest sketch cells (Euclidean; ``pynndescent``,
seeded, queried a block of cells at a time so memory stays bounded at a million cells; below
:data:`EXACT_BELOW` sketch cells the exact neighbours by brute force, as umap-learn does below
4,096 cells, which spares a small run pynndescent's compilation). Its
label is the majority among their labels (a tie goes to the tied label of the nearest
neighbour); its embedding position is their inverse-distance weighted mean, weights
``1 / (d + delta)`` with ``delta`` a thousandth of the median nearest-neighbour distance
(a cell on top of a sketch cell lands on it).
"""

import numpy as np
import pandas as pd

__all__ = ["knn_to_sketch", "transfer_embedding", "transfer_labels"]

_BLOCK = 100_000
#: Sketches smaller than this get exact neighbours (scikit-learn, brute force).
EXACT_BELOW = 4096


def knn_to_sketch(
    rep: np.ndarray, sketch: np.ndarray, query: np.ndarray, *, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest sketch cells of each query cell.

    Parameters
    ----------
    rep
        Coordinates of every cell (cells × components).
    sketch
        Indices of the sketch cells in ``rep``.
    query
        Indices of the cells to place.
    k
        Neighbours per cell (at most the sketch size).
    seed
        Seed of the nearest-neighbour index (pynndescent; the exact path needs none).

    Returns
    -------
    tuple of ndarray
        Positions in ``sketch`` (query × k, nearest first) and their distances.
    """
    k = int(min(k, len(sketch)))
    if len(sketch) < EXACT_BELOW:
        return _exact_knn(rep, sketch, query, k=k)
    from pynndescent import NNDescent

    data = np.ascontiguousarray(rep[sketch], dtype=np.float32)
    index = NNDescent(
        data, n_neighbors=max(k, 15) if len(sketch) > 15 else k, random_state=seed, n_jobs=1
    )
    index.prepare()
    idx = np.empty((len(query), k), dtype=np.int64)
    dist = np.empty((len(query), k), dtype=np.float32)
    for start in range(0, len(query), _BLOCK):
        part = np.ascontiguousarray(rep[query[start : start + _BLOCK]], dtype=np.float32)
        i, d = index.query(part, k=k)
        idx[start : start + len(part)], dist[start : start + len(part)] = i, d
    return idx, dist


def _exact_knn(
    rep: np.ndarray, sketch: np.ndarray, query: np.ndarray, *, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest sketch rows of ``rep`` for its ``query`` rows (float64, block-wise)."""
    from sklearn.neighbors import NearestNeighbors

    data = np.asarray(rep[sketch], dtype=np.float64)
    index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(data)
    idx = np.empty((len(query), k), dtype=np.int64)
    dist = np.empty((len(query), k), dtype=np.float32)
    for start in range(0, len(query), _BLOCK):
        d, i = index.kneighbors(np.asarray(rep[query[start : start + _BLOCK]], dtype=np.float64))
        idx[start : start + len(i)], dist[start : start + len(i)] = i, d
    return idx, dist


def transfer_labels(labels: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Majority label among each cell's neighbours; a tie goes to the nearest tied label.

    Parameters
    ----------
    labels
        Labels of the sketch cells.
    neighbours
        Positions in ``labels`` per cell (cells × k, nearest first).

    Returns
    -------
    ndarray
        One label per cell (same dtype as ``labels``).
    """
    codes, uniques = pd.factorize(np.asarray(labels))
    out = np.empty(len(neighbours), dtype=np.int64)
    k = neighbours.shape[1]
    for start in range(0, len(neighbours), _BLOCK):
        nb = codes[neighbours[start : start + _BLOCK]]
        rows = np.arange(len(nb))[:, None]
        votes = np.zeros((len(nb), len(uniques)), dtype=np.int64)
        np.add.at(votes, (np.broadcast_to(rows, nb.shape), nb), 1)
        first = np.full((len(nb), len(uniques)), k, dtype=np.int64)
        for r in range(k - 1, -1, -1):
            first[rows[:, 0], nb[:, r]] = r
        out[start : start + len(nb)] = np.argmax(votes * (k + 1) + (k - first), axis=1)
    return np.asarray(uniques)[out]


def transfer_embedding(
    coords: np.ndarray, neighbours: np.ndarray, distances: np.ndarray
) -> np.ndarray:
    """Inverse-distance weighted mean of the neighbours' coordinates.

    Parameters
    ----------
    coords
        Coordinates of the sketch cells (sketch × dims).
    neighbours
        Positions in ``coords`` per cell (cells × k).
    distances
        Their distances (cells × k).

    Returns
    -------
    ndarray
        Coordinates per cell (cells × dims, float32).
    """
    d = distances.astype(np.float64)
    delta = 1e-3 * float(np.median(d[:, 0])) + 1e-12 if len(d) else 1.0
    w = 1.0 / (d + delta)
    w /= w.sum(axis=1, keepdims=True)
    out = np.einsum("ck,ckd->cd", w, coords[neighbours].astype(np.float64))
    return out.astype(np.float32)
