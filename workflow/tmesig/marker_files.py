"""Reading marker YAML files: the checks shared by lineage and subset marker files.

:func:`tmesig.annotate.load_markers` (``compartments.yaml``) and
:func:`tmesig.subsets.load_subset_markers` (``subsets.yaml``) read their file, check the
top-level section, the lineage names and every gene list with these functions, so both
files fail in the same way, with a message naming the file, the problem and the fix.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .constants import LINEAGES
from .io.errors import InputError

__all__ = ["check_lineage", "gene_list", "read_marker_yaml"]


def read_marker_yaml(
    path: Path, *, label: str, section: str, add_hint: str, missing_hint: str
) -> Mapping[str, Any]:
    """Parse a marker YAML file that must hold a top-level ``section:`` mapping.

    Parameters
    ----------
    path
        The YAML file.
    label
        How messages name the file (``"Marker file"``, ``"Subset marker file"``).
    section
        Required top-level key whose value is a mapping (``compartments``, ``lineages``).
    add_hint
        End of the message when the section is missing ("mapping each ...").
    missing_hint
        End of the message when the file does not exist ("pass an existing YAML file.").

    Returns
    -------
    Mapping
        The parsed document (``data[section]`` is a mapping).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the file is not valid YAML or lacks the section.
    """
    if not path.is_file():
        msg = f"{label} {path} does not exist; {missing_hint}"
        raise FileNotFoundError(msg)
    with path.open() as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            msg = f"{label} {path} is not valid YAML ({exc}); fix the syntax."
            raise InputError(msg) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get(section), Mapping):
        msg = f"{label} {path} has no top-level '{section}:' mapping; add one {add_hint}"
        raise InputError(msg)
    return data


def check_lineage(name: object, *, where: str, noun: str) -> None:
    """Refuse a name that is not one of :data:`tmesig.constants.LINEAGES`.

    Parameters
    ----------
    name
        The name read from the file.
    where
        Message prefix naming the file (``"Marker file x.yaml"``).
    noun
        What the file calls a lineage (``"compartment"``, ``"lineage"``).

    Raises
    ------
    InputError
        If ``name`` is not a lineage.
    """
    if name not in LINEAGES:
        msg = f"{where}: unknown {noun} {name!r}; use one of {', '.join(LINEAGES)}."
        raise InputError(msg)


def gene_list(value: object, *, error: str, allow_empty: bool = False) -> tuple[str, ...]:
    """Validate a YAML list of gene symbols; strip them and drop repeats (order kept).

    Parameters
    ----------
    value
        The value read from the file.
    error
        Message of the error raised for anything but a (non-empty) list of non-blank strings.
    allow_empty
        Accept ``None`` and ``[]`` (an optional list) as no genes.

    Returns
    -------
    tuple[str, ...]
        The genes.

    Raises
    ------
    InputError
        With ``error`` as its message.
    """
    if value is None and allow_empty:
        return ()
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or (len(value) == 0 and not allow_empty)
        or not all(isinstance(g, str) and g.strip() for g in value)
    ):
        raise InputError(error)
    return tuple(dict.fromkeys(g.strip() for g in value))
