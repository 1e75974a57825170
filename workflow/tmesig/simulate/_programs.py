"""Programs planted in simulated cells, and the default resistance programs."""

from dataclasses import dataclass

from ..signatures import load_library

__all__ = ["DEFAULT_PROGRAMS", "Program", "library_genes"]


@dataclass(frozen=True)
class Program:
    """A program planted in some cells.

    Parameters
    ----------
    name : str
        Identifier (``obs["planted_<name>"]``).
    genes : tuple of str
        Genes multiplied by ``fold`` (genes absent from the simulated genes are dropped).
    cell_types : tuple of str
        Cell types it is planted in.
    fold : float
        Fold change of the genes' mean (< 1 for loss).
    response : str, optional
        ``"R"`` or ``"NR"``: only in patients with that response; None for both.
    timepoint : str, optional
        ``"pre"`` or ``"post"``; None for both.
    fraction : float
        Fraction of eligible cells carrying it.
    clone : str, optional
        Label written to ``obs["clone"]`` for the carrying cells (a tumour clone).
    """

    name: str
    genes: tuple[str, ...]
    cell_types: tuple[str, ...]
    fold: float
    response: str | None = None
    timepoint: str | None = None
    fraction: float = 1.0
    clone: str | None = None


def library_genes(name: str) -> tuple[str, ...]:
    """Genes of the signature-library set ``name`` (to build a :class:`Program` from).

    Parameters
    ----------
    name : str
        A set of :func:`tmesig.signatures.load_library`, e.g. ``"tcell_exhaustion"``.

    Returns
    -------
    tuple of str
        The set's genes, in the library's order.
    """
    return next(gs.genes for gs in load_library() if gs.name == name)


def _default_programs() -> tuple[Program, ...]:
    return (
        Program(
            "exhaustion_cd8_nr",
            library_genes("tcell_exhaustion"),
            ("CD8_T",),
            4.0,
            response="NR",
            fraction=0.7,
        ),
        Program(
            "slc7a11_m2_macrophage_nr",
            library_genes("slc7a11_xct") + library_genes("m2_tam"),
            ("macrophage",),
            3.0,
            response="NR",
            fraction=0.7,
        ),
        Program(
            "apm_low_clone",
            library_genes("b2m_mhc1_apm"),
            ("malignant",),
            0.15,
            response="NR",
            fraction=0.5,
            clone="apm_low",
        ),
    )


#: Default planted programs (see :mod:`tmesig.simulate`).
DEFAULT_PROGRAMS: tuple[Program, ...] = _default_programs()
