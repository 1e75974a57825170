"""Options of the gene-level condition comparison (:mod:`tmesig.de`)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DeOptions"]


@dataclass(frozen=True)
class DeOptions:
    """Thresholds of the pseudobulk comparison and of its prerank.

    Parameters
    ----------
    min_cells : int
        A patient × condition pseudobulk of a compartment needs at least this many cells.
    min_patients : int
        Patients per condition (or pairs, for the paired design) needed for a test.
    alpha : float
        pydeseq2's ``alpha`` (the independent-filtering target FDR).
    max_genes : int
        At most this many genes are tested per compartment: those with the highest mean
        value over its pseudobulks (an independent filter: it ignores the conditions);
        pydeseq2 fits each gene in turn, so this bounds the stage's time.
    min_count : int
        Counts mode: a gene is tested when it has at least this many counts in at least as
        many pseudobulks as the smaller condition (or pairs); normalised mode: when its mean
        log value is above 0 in that many.
    permutation_num : int
        gseapy prerank permutations.
    min_size, max_size : int
        Gene sets with fewer / more genes in a ranking are skipped by gseapy.
    seed : int
        gseapy's seed.
    chunk_size : int
        Cells read at a time from the h5ad file.
    threads : int
        Processes pydeseq2 fits genes on, and gseapy prerank's threads (the rule's
        ``threads``); each gene and each permutation is computed on its own, so the
        results do not depend on it.
    """

    min_cells: int = 10
    min_patients: int = 3
    alpha: float = 0.05
    min_count: int = 10
    max_genes: int = 3000
    permutation_num: int = 1000
    min_size: int = 3
    max_size: int = 500
    seed: int = 0
    chunk_size: int = 20_000
    threads: int = 1

    @classmethod
    def from_config(
        cls, conditions: Mapping[str, Any], enrichment: Mapping[str, Any], *, threads: int = 1
    ) -> "DeOptions":
        """Options from the config's ``conditions`` and (seeded) ``enrichment`` sections.

        Parameters
        ----------
        conditions : mapping
            ``config["conditions"]``: ``min_cells``, ``min_patients``, ``alpha``.
        enrichment : mapping
            ``config["enrichment"]`` with the top-level ``seed``: ``permutation_num``,
            ``min_size``, ``max_size``, ``seed``.
        threads : int
            The rule's threads.

        Returns
        -------
        DeOptions
        """
        return cls(
            min_cells=int(conditions["min_cells"]),
            min_patients=int(conditions["min_patients"]),
            alpha=float(conditions["alpha"]),
            permutation_num=int(enrichment["permutation_num"]),
            min_size=int(enrichment["min_size"]),
            max_size=int(enrichment["max_size"]),
            seed=int(enrichment.get("seed", 0)),
            threads=max(1, int(threads)),
        )
