"""Stage ``signatures``: export the signature library (rule ``workflow/rules/signatures.smk``).

Inputs
    ``sets``: the library's set files (``resources/signatures/*.yaml``).
Outputs
    ``gmt``: ``results/signatures/tmesig.gmt`` (for gseapy);
    ``table``: ``results/signatures/library.tsv`` (one row per set, with provenance).
Params
    none.
"""

from .. import signatures
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Load the library, write its GMT and its table.

    Parameters
    ----------
    io : StageIO
        ``input["sets"]``; ``output["gmt"]``, ``output["table"]``.

    Returns
    -------
    str
        ``"<n> gene sets exported"``.
    """
    sets = signatures.load_library(io.input["sets"])
    signatures.write_gmt(sets, io.output["gmt"])
    signatures.library_table(sets).to_csv(io.output["table"], sep="\t", index=False)
    return f"{len(sets)} gene sets exported"
