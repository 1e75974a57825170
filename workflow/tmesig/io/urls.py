"""The rules for a sheet ``path`` that is a URL, and for ``sha256`` values: one source for all.

Used by the sample-sheet checks (:mod:`tmesig.sheet`), the download step and ingest.
"""

import re

__all__ = ["SHA256_RE", "URL_FORMATS", "is_sha256", "is_url", "url_format"]

_URL_RE = re.compile(r"^https?://", re.IGNORECASE)
_URL_EXT_RE = re.compile(r"\.(h5ad|h5)$", re.IGNORECASE)
#: One SHA-256 digest: 64 hexadecimal digits.
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
#: File formats a URL may name (taken from its extension).
URL_FORMATS: tuple[str, ...] = ("h5ad", "h5")


def is_url(path: str) -> bool:
    """Whether a sheet ``path`` is an http(s) URL.

    Parameters
    ----------
    path
        A sample sheet's ``path`` value.
    """
    return bool(_URL_RE.match(str(path).strip()))


def url_format(url: str) -> str | None:
    """The file format a URL names: ``"h5ad"`` or ``"h5"``, else ``None``.

    Parameters
    ----------
    url
        An http(s) URL; the extension of its path is read (query and fragment ignored).
    """
    bare = str(url).strip().split("?")[0].split("#")[0]
    match = _URL_EXT_RE.search(bare)
    return match.group(1).lower() if match else None


def is_sha256(value: str) -> bool:
    """Whether ``value`` is one SHA-256 digest (64 hex digits).

    Parameters
    ----------
    value
        A sample sheet's ``sha256`` value (surrounding spaces ignored).
    """
    return bool(SHA256_RE.match(str(value or "").strip()))
