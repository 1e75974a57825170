"""Options of malignant-cell calling (:func:`tmesig.cnv.call_malignant`)."""

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CANDIDATE_LINEAGES", "REFERENCE_LINEAGES", "CnvOptions"]

#: Lineages whose cells serve as the copy-neutral reference by default.
REFERENCE_LINEAGES: tuple[str, ...] = ("T_NK", "B_plasma", "myeloid", "endothelial", "fibroblast")
#: Lineages whose cells may be called malignant on the thresholds alone.
CANDIDATE_LINEAGES: tuple[str, ...] = ("epithelial",)


@dataclass(frozen=True)
class CnvOptions:
    """Options of :func:`tmesig.cnv.call_malignant` (see :mod:`tmesig.cnv`).

    Attributes
    ----------
    reference_lineages
        Lineages of the copy-neutral reference cells (when no explicit mask is given).
    candidate_lineages
        Lineages that may be called malignant on the thresholds alone.
    layer, window_size, step, chunksize, n_jobs
        Passed to ``infercnvpy.tl.infercnv`` (``layer``: expression layer, ``None`` for
        ``X``; smoothing window and step in genes; cells per chunk; parallel jobs).
    resolution, seed
        Leiden on the CNV profiles; ``seed`` also draws the held-out reference cells.
    n_mads, min_corr, max_corr, strong_factor, strong_corr
        Thresholds (see :mod:`tmesig.cnv`).
    min_reference
        Minimum number of reference cells.
    max_iterations
        Most infercnvpy runs of the reference purification (reference cells carrying copy
        number are removed and the profiles recomputed until none is left, at most this often).
    min_clone_cells
        Smallest CNV cluster that can be called a clone.
    """

    reference_lineages: Sequence[str] = REFERENCE_LINEAGES
    candidate_lineages: Sequence[str] = CANDIDATE_LINEAGES
    layer: str | None = None
    window_size: int = 100
    step: int = 10
    chunksize: int = 2000
    n_jobs: int = 1
    resolution: float = 0.5
    seed: int = 0
    n_mads: float = 3.0
    min_corr: float = 0.3
    max_corr: float = 0.5
    strong_factor: float = 1.5
    strong_corr: float = 0.6
    min_reference: int = 10
    max_iterations: int = 3
    min_clone_cells: int = 10
