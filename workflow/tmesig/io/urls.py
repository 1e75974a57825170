"""The rules for a sheet ``path`` that is a URL, and for ``sha256`` values: one source for all.

Used by the sample-sheet checks (:mod:`tmesig.sheet`), the download step and ingest.
Credentials never reach a message or a log: a URL with ``user:password@`` is refused by the
sheet check (:func:`has_credentials`), and every message shows a URL through :func:`redact`
(user information and query values replaced by ``***``).
"""

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SHA256_RE",
    "URL_FORMATS",
    "has_credentials",
    "has_scheme",
    "is_sha256",
    "is_url",
    "redact",
    "url_format",
]

_URL_RE = re.compile(r"^https?://", re.IGNORECASE)
#: Any ``scheme://`` (http, ftp, s3, file...): such a value is a URL, never a local path.
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: ``scheme://userinfo@`` (the user-information part of an authority).
_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")
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


def has_scheme(path: str) -> bool:
    """Whether a sheet ``path`` (one of its ``,``-separated parts) starts with ``scheme://``.

    Parameters
    ----------
    path
        A sample sheet's ``path`` value, or one part of it.
    """
    return bool(_SCHEME_RE.match(str(path).strip()))


def has_credentials(url: str) -> bool:
    """Whether a URL carries user information (``scheme://user[:password]@host``).

    Parameters
    ----------
    url
        Any string; only a ``scheme://...@`` prefix before the first ``/``, ``?`` or ``#``
        of the path counts.
    """
    return bool(_USERINFO_RE.match(str(url).strip()))


def redact(text: str) -> str:
    """``text`` with every URL's user information and query values replaced by ``***``.

    ``https://user:pw@host/x.h5ad?token=abc&dl=1`` becomes
    ``https://***@host/x.h5ad?token=***&dl=***`` (a ``#fragment`` becomes ``#***``).
    Used for every message and log line that shows a URL (a password or a signed-URL token
    must not reach the terminal or a log file).

    Parameters
    ----------
    text
        A URL, or a message that may contain URLs (separated by spaces, commas or quotes).
    """
    return _ANY_URL_RE.sub(lambda m: _redact_one(m.group(0)), str(text))


_ANY_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s,'\"<>()]+")


def _redact_one(url: str) -> str:
    url = _USERINFO_RE.sub(lambda m: f"{m.group(1)}***@", url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 literal: hide everything after the scheme
        return url.split("://", 1)[0] + "://***"
    query = "&".join(
        f"{kv.split('=', 1)[0]}=***" if "=" in kv else "***" for kv in parts.query.split("&")
    )
    if not parts.query and not parts.fragment:
        return url
    return urlunsplit(
        parts._replace(query=query if parts.query else "", fragment="***" if parts.fragment else "")
    )
