"""Options of subset annotation (:func:`tmesig.subsets.annotate_subsets`)."""

from dataclasses import dataclass

__all__ = ["SubsetOptions"]


@dataclass(frozen=True)
class SubsetOptions:
    """Sub-clustering, scoring, threshold and propagation options of subset calls.

    Attributes
    ----------
    layer
        Expression layer (``None``: ``X``).
    resolution, seed, n_neighbors, n_top_genes
        Sub-clustering: Leiden resolution and seed, kNN size, number of HVGs (computed on
        the lineage's cells; the lineage's marker genes are always added).
    min_cells_subcluster
        Lineages with fewer cells are one sub-cluster.
    sketch_above
        Lineages with more cells are sub-clustered on a sketch of this many cells
        (stratified by ``obs['leiden']``), the other cells labelled by kNN transfer in the
        sketch's PCA space (:func:`tmesig.subsets._sketch.sketched_subclusters`); ``None``:
        never.
    min_confidence, min_margin, min_score
        Cluster-level thresholds at every level (see :mod:`tmesig.subsets`).
    min_cell_margin, min_cell_score
        Cell-level relative-margin and best-score thresholds.
    quantile, min_markers, min_fraction
        Passed to :func:`tmesig.annotate.gene_set_scores`: a subset is scored (else
        ``NaN``, never called) only with at least ``min_markers`` genes and at least
        ``min_fraction`` of its genes detected among the lineage's cells.
    propagate
        Per-cell root call between roots with ``identity`` genes (``CD8_T`` vs ``CD4_T``)
        from the identity genes only, with kNN label propagation for cells whose identity
        genes are not detected (see :mod:`tmesig.subsets`). ``False``: the plain
        best-sibling per-cell call.
    min_identity_margin
        Relative margin of the identity scores for a cell to be a spreading seed.
    balance_propagation
        Class-mass normalisation of the spreading: each label's seeds carry a total
        mass of 1 whatever their number (default True).
    propagation_alpha
        Label-spreading ``alpha`` in ``[0, 1)``: the weight of the neighbourhood against
        a cell's own identity-gene evidence (0: seeds keep their own call; default 0.99,
        the value of Zhou et al. 2004).

    Raises
    ------
    ValueError
        If a threshold is outside ``[0, 1]`` or ``propagation_alpha`` outside ``[0, 1)``.
    """

    layer: str | None = None
    resolution: float = 1.0
    seed: int = 0
    n_neighbors: int = 15
    n_top_genes: int = 1500
    min_cells_subcluster: int = 30
    sketch_above: int | None = 50_000
    min_confidence: float = 0.4
    min_margin: float = 0.2
    min_score: float = 0.2
    min_cell_margin: float = 0.2
    min_cell_score: float = 0.1
    quantile: float = 0.9
    min_markers: int = 2
    min_fraction: float = 0.4
    propagate: bool = True
    min_identity_margin: float = 0.5
    balance_propagation: bool = True
    propagation_alpha: float = 0.99

    def __post_init__(self) -> None:
        for name in (
            "min_confidence",
            "min_margin",
            "min_score",
            "min_cell_margin",
            "min_cell_score",
            "min_identity_margin",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                msg = f"{name} must be in [0, 1], got {value}."
                raise ValueError(msg)
        if self.sketch_above is not None and self.sketch_above < self.min_cells_subcluster:
            msg = f"sketch_above must be >= min_cells_subcluster, got {self.sketch_above}."
            raise ValueError(msg)
        if not 0.0 <= self.propagation_alpha < 1.0:
            msg = f"propagation_alpha must be in [0, 1), got {self.propagation_alpha}."
            raise ValueError(msg)
