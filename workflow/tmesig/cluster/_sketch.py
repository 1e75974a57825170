"""Which cells the neighbour graph, Leiden and UMAP run on when a dataset is large.

Above ``sketch_above`` cells, the graph steps run on a sketch of ``sketch_size`` cells drawn
in PCA (or Harmony) space: ``geosketch`` (geometric sketching, Hie et al. 2019, the
``geosketch`` package: one cell from each box of a grid that covers the space evenly, so a
rare population keeps cells in proportion to the volume it takes, not to its count) or
``uniform`` (a seeded draw without replacement). The other cells are placed by
:mod:`._transfer`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SKETCH_METHODS", "SketchOptions", "sketch_indices"]

#: The values of ``cluster.sketch_method``.
SKETCH_METHODS: tuple[str, ...] = ("geosketch", "uniform")

_CONFIG_KEYS = ("sketch_above", "sketch_size", "sketch_method")


@dataclass(frozen=True)
class SketchOptions:
    """When and how to cluster on a sketch.

    Parameters
    ----------
    sketch_above
        Datasets with more cells than this are clustered on a sketch.
    sketch_size
        Cells in the sketch.
    sketch_method
        ``geosketch`` or ``uniform``.
    """

    sketch_above: int = 200_000
    sketch_size: int = 100_000
    sketch_method: str = "geosketch"

    def __post_init__(self) -> None:
        if self.sketch_method not in SKETCH_METHODS:
            msg = (
                f"cluster.sketch_method must be one of {SKETCH_METHODS}, not {self.sketch_method!r}"
            )
            raise ValueError(msg)
        if self.sketch_size < 3 or self.sketch_above < 0:
            msg = "cluster.sketch_size must be >= 3 and cluster.sketch_above >= 0"
            raise ValueError(msg)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "SketchOptions":
        """Options from the config's ``cluster`` section (``sketch_above``, ``sketch_size``,
        ``sketch_method``); a key the section lacks keeps its default."""
        return cls(**{k: section[k] for k in _CONFIG_KEYS if k in section})

    def applies(self, n_cells: int) -> bool:
        """True when ``n_cells`` cells are clustered on a sketch (more than ``sketch_above``
        and more than ``sketch_size``)."""
        return n_cells > self.sketch_above and n_cells > self.sketch_size


def sketch_indices(rep: np.ndarray, *, size: int, method: str, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` cells of ``rep`` (cells × components).

    Parameters
    ----------
    rep
        The cells' coordinates (PCA or Harmony).
    size
        Cells to keep (all of them when ``size >= len(rep)``).
    method
        ``geosketch`` (geometric sketching) or ``uniform``.
    seed
        Random seed (the same seed, the same sketch).

    Returns
    -------
    ndarray
        Sorted integer indices into ``rep``.
    """
    n = rep.shape[0]
    if size >= n:
        return np.arange(n)
    if method == "uniform":
        return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    if method != "geosketch":
        msg = f"unknown sketch method {method!r}; use one of {SKETCH_METHODS}"
        raise ValueError(msg)
    from geosketch import gs

    state = np.random.get_state()  # geosketch seeds numpy's global generator: restore it
    try:
        picked = gs(np.asarray(rep, dtype=np.float64), size, seed=seed, replace=False)
    finally:
        np.random.set_state(state)
    return np.sort(np.asarray(picked, dtype=np.int64))
