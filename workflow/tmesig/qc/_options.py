"""The options of QC (the config's ``qc`` section): :class:`QcOptions`."""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..input_mode import COUNTS, NORMALISED, PANEL

__all__ = ["QcOptions"]


@dataclass(frozen=True)
class QcOptions:
    """Thresholds and switches of :func:`tmesig.qc.qc_tables` (the ``qc`` section of the config).

    Parameters
    ----------
    nmads : float
        MADs around the per-sample median of ``log1p`` counts and genes.
    nmads_mito : float
        MADs above the per-sample median of % mitochondrial counts.
    max_pct_mito : float
        A cell above this % mitochondrial is removed whatever the MAD rule says.
    min_pct_mito : float
        A cell at or below this % mitochondrial is never removed for it (the MAD of a
        tight distribution would otherwise cut healthy cells).
    min_genes : int
        Absolute floor on genes detected.
    min_cells_per_gene : int
        Genes detected in fewer kept cells are dropped (:func:`tmesig.qc.apply_qc`).
    doublets : bool
        Run scrublet per sample.
    min_cells_doublets : int
        Samples with fewer cells are not screened for doublets (recorded in the summary).
    seed : int
        Seed for scrublet (and for splitting a sample above ``doublet_max_cells``).
    panel_min_genes_fraction : float
        Panel input: the ``min_genes`` floor becomes ``min(min_genes, ceil(fraction × genes
        in the panel))``.
    panel_doublets : bool
        Panel input: run scrublet too (its simulated doublets assume whole-transcriptome
        droplet data; off by default).
    doublet_max_cells : int
        A sample with more cells is screened in random parts of at most this many cells
        (scrublet's memory grows with the cells of one run; a part still holds thousands of
        cells of the sample's own mixture). Optional in the config.
    chunk_size : int
        Cells read at a time for the per-cell metrics. Optional in the config.
    sample_key : str
        obs column with the sample of each cell.
    input_mode : str
        ``counts``, ``normalised`` or ``panel`` (:mod:`tmesig.input_mode`).
    panel_genes : int
        Genes in the panel (``panel`` mode; 0: the matrix's genes).
    n_jobs : int
        Worker processes for scrublet's parts (the rule's threads; the scores do not depend
        on it: :func:`tmesig.qc.screen_samples`).
    """

    nmads: float = 5.0
    nmads_mito: float = 3.0
    max_pct_mito: float = 25.0
    min_pct_mito: float = 5.0
    min_genes: int = 200
    min_cells_per_gene: int = 3
    doublets: bool = True
    min_cells_doublets: int = 100
    seed: int = 0
    panel_min_genes_fraction: float = 0.02
    panel_doublets: bool = False
    doublet_max_cells: int = 10_000
    chunk_size: int = 20_000
    sample_key: str = "sample"
    input_mode: str = COUNTS
    panel_genes: int = 0
    n_jobs: int = 1

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "QcOptions":
        """Options from the config's ``qc`` section.

        Every field up to ``panel_doublets`` is required; ``doublet_max_cells`` and
        ``chunk_size`` take their defaults when absent; the last four are set by the stage.

        Parameters
        ----------
        section : mapping
            ``config["qc"]`` after schema defaults are filled in.

        Returns
        -------
        QcOptions
        """
        skip = ("sample_key", "input_mode", "panel_genes", "n_jobs")
        optional = ("doublet_max_cells", "chunk_size")
        values = {
            f.name: section[f.name]
            for f in fields(cls)
            if f.name not in skip and (f.name not in optional or f.name in section)
        }
        return cls(**values)

    def min_genes_floor(self, n_genes: int) -> int:
        """The absolute genes-detected floor: ``min_genes``, scaled down for a panel.

        Parameters
        ----------
        n_genes : int
            Genes in the matrix (used when ``panel_genes`` is 0).

        Returns
        -------
        int
        """
        if self.input_mode != PANEL:
            return int(self.min_genes)
        panel = self.panel_genes or n_genes
        return int(min(self.min_genes, np.ceil(self.panel_min_genes_fraction * panel)))

    def doublet_skip_reason(self) -> str | None:
        """Why doublets are not screened in this mode, or ``None`` when they are."""
        if not self.doublets:
            return "skipped: qc.doublets is false"
        if self.input_mode == NORMALISED:
            return "skipped: input normalised (scrublet needs counts)"
        if self.input_mode == PANEL and not self.panel_doublets:
            return "skipped: targeted panel (qc.panel_doublets is false)"
        return None
