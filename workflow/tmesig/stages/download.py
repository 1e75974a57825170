"""Stage ``download``: fetch a sample sheet URL, kept only when its SHA-256 matches.

Outputs
    ``data``: ``resources/downloads/{dataset}.{ext}``.
Params
    ``url``: the sheet's ``path`` (an http(s) URL); ``sha256``: its expected digest;
    ``download``: the config's ``download`` section (size cap, deadline, per-read timeout).
"""

from ..io.fetch import DownloadOptions, fetch_url
from ..io.urls import redact
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
        One line naming the URL (credentials and query values hidden) and its digest.
    """
    url = io.params["url"]
    options = DownloadOptions.from_config(io.params.get("download") or {})
    digest = fetch_url(url, io.output["data"], sha256=io.params["sha256"], options=options)
    return f"downloaded {redact(url)} (sha256 {digest})"
