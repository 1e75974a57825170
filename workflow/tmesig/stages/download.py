"""Stage ``download``: fetch a sample sheet URL, kept only when its SHA-256 matches.

Outputs
    ``data``: ``resources/downloads/{dataset}.{ext}``.
Params
    ``url``: the sheet's ``path`` (an http(s) URL); ``sha256``: its expected digest.
"""

from ..io import fetch_url
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Download ``params["url"]`` to ``output["data"]``, verified against ``params["sha256"]``.

    Parameters
    ----------
    io
        The stage's output and parameters (see the module docstring).

    Returns
    -------
    str
        One line naming the URL and its digest.
    """
    url = io.params["url"]
    digest = fetch_url(url, io.output["data"], sha256=io.params["sha256"])
    return f"downloaded {url} (sha256 {digest})"
