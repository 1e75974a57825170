"""The compartment marker file (``resources/markers/compartments.yaml``)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from tmesig import paths
from tmesig.constants import LINEAGES
from tmesig.io.errors import InputError
from tmesig.marker_files import check_lineage, gene_list, read_marker_yaml

__all__ = ["DEFAULT_MARKERS", "check_markers", "load_markers"]

#: Default marker file.
DEFAULT_MARKERS = paths.MARKERS_DIR / "compartments.yaml"


def load_markers(path: str | Path | None = None) -> dict[str, list[str]]:
    """Load and validate compartment marker genes from a YAML file.

    Parameters
    ----------
    path
        YAML file with a top-level ``compartments:`` mapping of compartment name to either
        ``{genes: [...], source: "..."}`` or a plain list of genes. Defaults to
        ``resources/markers/compartments.yaml`` (:data:`DEFAULT_MARKERS`).

    Returns
    -------
    dict[str, list[str]]
        Compartment -> marker genes (order preserved, duplicates within a compartment
        removed), in the order of :data:`tmesig.constants.LINEAGES`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the file is malformed, names an unknown compartment, has an empty gene list or
        lists one gene under two compartments. The message names the file.
    """
    path = Path(DEFAULT_MARKERS if path is None else path)
    data = read_marker_yaml(
        path,
        label="Marker file",
        section="compartments",
        add_hint="mapping each compartment name to a 'genes:' list.",
        missing_hint="pass an existing YAML file to load_markers.",
    )
    markers: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for name, entry in data["compartments"].items():
        check_lineage(name, where=f"Marker file {path}", noun="compartment")
        genes = entry.get("genes") if isinstance(entry, Mapping) else entry
        clean = list(
            gene_list(
                genes,
                error=f"Marker file {path}: compartment {name!r} needs a non-empty list of "
                "gene symbols under 'genes:'.",
            )
        )
        for gene in clean:
            if gene in owner:
                msg = (
                    f"Marker file {path}: gene {gene!r} is listed under both "
                    f"{owner[gene]!r} and {name!r}; keep it in one compartment only."
                )
                raise InputError(msg)
            owner[gene] = name
        markers[name] = clean
    if not markers:
        msg = f"Marker file {path} defines no compartments; add at least one."
        raise InputError(msg)
    return {c: markers[c] for c in LINEAGES if c in markers}


def check_markers(markers: Mapping[str, Sequence[str]]) -> None:
    """Refuse a marker mapping naming an unknown compartment, or an empty one.

    Parameters
    ----------
    markers
        Compartment -> marker genes.

    Raises
    ------
    ValueError
        If a compartment is not one of :data:`tmesig.constants.LINEAGES` or none is given.
    """
    unknown = [c for c in markers if c not in LINEAGES]
    if unknown:
        msg = f"Unknown compartment(s) {unknown}; use names from tmesig.constants.LINEAGES."
        raise ValueError(msg)
    if not markers:
        msg = "No marker compartments given; pass the output of load_markers()."
        raise ValueError(msg)
