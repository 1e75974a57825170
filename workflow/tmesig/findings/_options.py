"""The thresholds the findings page restates: the flag rule's, and how much it shows."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FindingsOptions"]


@dataclass(frozen=True)
class FindingsOptions:
    """Thresholds of the flag rule (as the ``flag`` stage used them) and page sizes.

    Attributes
    ----------
    alpha : float
        FDR level of a flag (``flag.alpha``).
    min_effect : float
        Minimum standardised effect towards resistance of a flag (``flag.min_effect``).
    min_samples : int
        Fewer contributing samples: no test (``flag.min_samples``).
    min_cells : int
        A patient's compartment mean enters the per-patient z-scores only with at least
        this many cells (``conditions.min_cells``).
    min_patients : int
        Fewer patients: the per-patient view is said to be not informative, and no heatmap.
    n_candidates : int
        Strongest unflagged candidates listed when nothing (or little) is flagged.
    n_rows : int
        Rows of the condition, composition and per-patient tables on the page.
    """

    alpha: float = 0.05
    min_effect: float = 0.5
    min_samples: int = 3
    min_cells: int = 10
    min_patients: int = 3
    n_candidates: int = 5
    n_rows: int = 10

    @classmethod
    def from_config(
        cls, flag: Mapping[str, Any], conditions: Mapping[str, Any] | None = None
    ) -> "FindingsOptions":
        """Options from the config's ``flag`` (and ``conditions``) sections.

        Parameters
        ----------
        flag
            ``config["flag"]``: ``alpha``, ``min_effect``, ``min_samples``.
        conditions
            ``config["conditions"]``: ``min_cells`` (default 10 without it).
        """
        return cls(
            alpha=float(flag["alpha"]),
            min_effect=float(flag["min_effect"]),
            min_samples=int(flag["min_samples"]),
            min_cells=int((conditions or {}).get("min_cells", 10)),
        )
