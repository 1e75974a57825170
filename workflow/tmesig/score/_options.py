"""How cells are scored: the method and its parameters, in one frozen object."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._chunks import DEFAULT_CHUNK

#: Scoring methods accepted by :func:`tmesig.score.score_cells`.
METHODS: tuple[str, ...] = ("mean_diff", "rank", "scanpy")

#: The keys of the config's ``score`` section that are scoring options.
_CONFIG_KEYS = ("method", "min_coverage", "min_genes", "ctrl_size", "n_bins", "seed", "max_rank")


@dataclass(frozen=True)
class ScoreOptions:
    """Options of :func:`~tmesig.score.score_cells` and :func:`~tmesig.score.null_group_means`.

    Attributes
    ----------
    method : {"mean_diff", "rank", "scanpy"}
        ``"mean_diff"`` (default; :func:`~tmesig.score.score_mean_diff`, scanpy's numbers,
        one pass), ``"rank"`` (:func:`~tmesig.score.score_rank`, UCell) or ``"scanpy"``
        (the reference loop of :func:`scanpy.tl.score_genes`).
    min_coverage : float
        Sets with a smaller fraction of their genes present are reported and not scored.
    min_genes : int
        Sets with fewer of their genes present are reported and not scored (a "set" of one
        or two genes is shown as genes, not as a signature); both rules apply.
    ctrl_size, n_bins, seed : int
        Control-gene parameters of ``mean_diff`` and ``scanpy`` (``random_state=seed``);
        the null sets of :func:`~tmesig.score.null_group_means` use them too.
    max_rank : int
        Parameter of ``rank``: genes ranked beyond it count as ``max_rank + 1``.
    down_genes : mapping, optional
        Parameter of ``rank``: ``{set name: down-genes}`` (UCell's signed signatures).
    chunk_size : int
        Cells per chunk (``mean_diff``, ``rank`` and the null means).
    """

    method: Literal["mean_diff", "rank", "scanpy"] = "mean_diff"
    min_coverage: float = 0.5
    min_genes: int = 3
    ctrl_size: int = 50
    n_bins: int = 25
    seed: int = 0
    max_rank: int = 1500
    down_genes: Mapping[str, Sequence[str]] | None = None
    chunk_size: int = DEFAULT_CHUNK

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "ScoreOptions":
        """Options from the config's ``score`` section (``method`` ... ``max_rank``); a key
        the section lacks keeps its default (the config schema fills every key)."""
        return cls(**{k: section[k] for k in _CONFIG_KEYS if k in section})
