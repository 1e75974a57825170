"""Stage ``signatures``: export the signature library (rule ``workflow/rules/signatures.smk``).

Inputs
    ``sets``: the library's set files (``resources/signatures/*.yaml``); ``markers``
    (optional): the subsets markers file whose cell states a set's ``compartments`` may name
    (default ``resources/markers/subsets.yaml``).
Outputs
    ``gmt``: ``results/signatures/tmesig.gmt`` (for gseapy);
    ``table``: ``results/signatures/library.tsv`` (one row per set, with provenance).
Params
    none.
"""

from pathlib import Path

from .. import signatures
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Load the library, check the cell states it names, write its GMT and its table.

    Parameters
    ----------
    io : StageIO
        ``input["sets"]`` (and optionally ``input["markers"]``); ``output["gmt"]``,
        ``output["table"]``.

    Returns
    -------
    str
        ``"<n> gene sets exported"``.
    """
    sets = signatures.load_library(io.input["sets"])
    markers = io.input.get("markers")
    given = io.input["sets"]
    files = None if isinstance(given, (str, Path)) else {Path(f).stem: f for f in given}
    signatures.check_set_compartments(
        sets, states=signatures.state_lineages(markers), files=files, markers=markers
    )
    signatures.write_gmt(sets, io.output["gmt"])
    signatures.library_table(sets).to_csv(io.output["table"], sep="\t", index=False)
    return f"{len(sets)} gene sets exported"
