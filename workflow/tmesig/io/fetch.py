"""Files by checksum: SHA-256 digests, the sample sheet's ``sha256`` check, verified downloads.

A download is bounded: at most ``download.max_bytes`` (a larger ``Content-Length`` is refused
before the body is read), at most ``download.deadline_s`` seconds in all (checked after every
read; one read waits at most ``download.timeout_s``), only http(s) redirects. The body goes to
a hidden temporary file beside the destination, renamed into place only once its SHA-256
matches; on an error, SIGTERM, SIGINT or SIGHUP the temporary file is removed (a SIGKILL
leaves one behind, removed by the next attempt). A body shorter than its ``Content-Length``
is reported as cut short (not as a checksum mismatch), and a mismatch says when the server
sent a compressed body or a web page. URLs appear in messages only through
:func:`tmesig.io.urls.redact`.
"""

import hashlib
import http.client
import os
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError
from .urls import has_credentials, is_sha256, is_url, redact

__all__ = ["DownloadOptions", "fetch_url", "sha256sum", "verify_sha256"]

#: Signals that end a download cleanly (its temporary file removed, exit status 128 + signal).
_CLEAN_EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_FIX_LOCAL = "or download the file yourself and put its local path in the sample sheet"


@dataclass(frozen=True)
class DownloadOptions:
    """Bounds of one download: the config's ``download`` section.

    Attributes
    ----------
    max_bytes
        Largest body accepted (bytes); a larger ``Content-Length`` is refused at once, a
        body that grows past it is cut off.
    deadline_s
        Seconds the whole download may take (connection included).
    timeout_s
        Seconds to wait for the connection and for each read.
    """

    max_bytes: int = 10_000_000_000
    deadline_s: float = 3600.0
    timeout_s: float = 60.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "DownloadOptions":
        """The options of the config's ``download`` section (missing keys: the defaults).

        Parameters
        ----------
        section
            ``config["download"]``.
        """
        names = ("max_bytes", "deadline_s", "timeout_s")
        return cls(**{k: section[k] for k in names if k in section})


def sha256sum(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file (of every file, by relative path, for a directory).

    Parameters
    ----------
    path
        A file or a directory.
    chunk
        Bytes read at a time.

    Returns
    -------
    str
        The lower-case hex digest.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode() + b"\0")
            h.update(bytes.fromhex(sha256sum(f)))
        return h.hexdigest()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | Path, *, expected: str) -> str:
    """Check a file against the sheet's ``sha256`` (skipped when empty) and return its digest.

    Parameters
    ----------
    path
        The file (or 10x directory, see :func:`sha256sum`).
    expected
        The sheet's hex digest, or ``""`` to skip the check.

    Returns
    -------
    str
        The file's digest.

    Raises
    ------
    InputError
        On a mismatch, naming the file, both digests and the fix.
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: file not found; check the 'path' column of the sample sheet"
        raise InputError(msg)
    digest = sha256sum(path)
    if expected and digest.lower() != expected.lower():
        msg = (
            f"{path}: sha256 mismatch (sheet says {expected.lower()}, file is {digest}); "
            "the file is corrupt or not the one the sheet names - fetch it again or fix the "
            "sha256 column"
        )
        raise InputError(msg)
    return digest


def fetch_url(
    url: str, dest: str | Path, *, sha256: str, options: DownloadOptions | None = None
) -> str:
    """Download ``url`` to ``dest``, keeping it only when its SHA-256 is ``sha256``.

    The body is written to a hidden temporary file next to ``dest`` and renamed to ``dest``
    only after the checksum matches; on any failure (or SIGTERM, SIGINT, SIGHUP) nothing is
    left behind. Temporary files of an earlier, killed attempt are removed first.

    Parameters
    ----------
    url
        http(s) URL without user information (``user:password@`` is refused).
    dest
        Where the file goes.
    sha256
        Expected hex digest (required).
    options
        Size cap, overall deadline and per-read timeout (:class:`DownloadOptions`).

    Returns
    -------
    str
        The digest.

    Raises
    ------
    InputError
        Bad URL scheme, credentials in the URL, missing checksum, unreachable server, HTTP
        error, a body over the cap or past the deadline, or a checksum mismatch, naming the
        URL (credentials and query values hidden), the problem and the fix.
    """
    opts = options if options is not None else DownloadOptions()
    shown = redact(url)
    _check_url(url, sha256)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.*.part"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with _clean_exit_on_signals(), os.fdopen(fd, "wb") as fh:
            digest, sent = _download(url, fh, options=opts)
        if digest != sha256.lower():
            msg = (
                f"{shown}: sha256 mismatch (sheet says {sha256.lower()}, download is {digest})"
                f"{sent}; nothing was kept - check that the URL and the 'sha256' column of the "
                "sample sheet name the same file"
            )
            raise InputError(msg)
        os.replace(tmp, dest)
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def _check_url(url: str, sha256: str) -> None:
    """Refuse a non-http(s) URL, a URL with credentials and a missing checksum."""
    shown = redact(url)
    if not is_url(url):
        msg = (
            f"{shown}: only http(s) URLs are downloaded; give an http(s) URL or a local path in "
            "the sample sheet"
        )
        raise InputError(msg)
    if has_credentials(url):
        msg = (
            f"{shown}: the URL carries a user name or password; tmesig does not send "
            f"credentials - use a public or pre-signed link, {_FIX_LOCAL}"
        )
        raise InputError(msg)
    if not is_sha256(sha256):
        msg = (
            f"{shown}: a URL needs its sha256 in the sample sheet (64 hex digits); add it to "
            "the 'sha256' column"
        )
        raise InputError(msg)


class _Terminated(BaseException):
    """Raised by the signal handler so that ``finally`` blocks run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _clean_exit_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGINT/SIGHUP into an exception (main thread only), then exit 128 + sig."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated(signum)

    previous = {s: signal.signal(s, handler) for s in _CLEAN_EXIT_SIGNALS}
    try:
        yield
    except _Terminated as stop:
        raise SystemExit(128 + stop.signum) from None
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would also follow ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        """The next request of a redirect, or an HTTP error when it leaves http(s)."""
        if not is_url(newurl):
            raise urllib.error.HTTPError(
                redact(newurl), code, "redirect to a non-http(s) URL refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _download(url: str, fh: BinaryIO, *, options: DownloadOptions) -> tuple[str, str]:
    """Stream ``url`` into ``fh`` within the bounds; return the body's SHA-256 and what the
    server said it sent when that is not a plain file (see :func:`_sent`)."""
    shown = redact(url)
    start = time.monotonic()
    try:
        timeout = min(options.timeout_s, options.deadline_s)
        with _OPENER.open(url, timeout=timeout) as resp:
            return _stream(resp, fh, shown=shown, start=start, options=options), _sent(resp)
    except urllib.error.HTTPError as err:
        msg = (
            f"{shown}: the server answered HTTP {err.code} ({err.reason}); check the URL in the "
            "sample sheet"
        )
        raise InputError(msg) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
        reason = redact(str(getattr(err, "reason", err)))
        msg = (
            f"{shown}: download failed, the server is unreachable or stopped answering "
            f"({reason}); check the URL and the network, {_FIX_LOCAL}"
        )
        raise InputError(msg) from None
    except http.client.HTTPException as err:
        msg = (
            f"{shown}: download failed, the server broke the HTTP protocol "
            f"({type(err).__name__}); check the URL, {_FIX_LOCAL}"
        )
        raise InputError(msg) from None


def _stream(resp: Any, fh: BinaryIO, *, shown: str, start: float, options: DownloadOptions) -> str:
    """Copy the response body in small reads, enforcing the size cap and the deadline."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > options.max_bytes:
        raise InputError(_too_large(shown, f"announces {int(declared):,}", options))
    h, total = hashlib.sha256(), 0
    while block := resp.read1(1 << 16):
        total += len(block)
        if total > options.max_bytes:
            raise InputError(_too_large(shown, f"sent more than {options.max_bytes:,}", options))
        h.update(block)
        fh.write(block)
        if time.monotonic() - start > options.deadline_s:
            msg = (
                f"{shown}: download stopped after {options.deadline_s:g} s "
                f"(download.deadline_s) with {total:,} bytes received; the server is too slow "
                "or sends an endless body - raise download.deadline_s in the config, "
                f"{_FIX_LOCAL}"
            )
            raise InputError(msg)
    if declared and declared.strip().isdigit() and total < int(declared):
        msg = (
            f"{shown}: download cut short - the server closed the connection after {total:,} "
            f"of the {int(declared):,} bytes it announced (Content-Length); nothing was kept - "
            f"run the workflow again (the download restarts), {_FIX_LOCAL}"
        )
        raise InputError(msg)
    return h.hexdigest()


def _sent(resp: Any) -> str:
    """`` (the server sent ...)`` for a compressed body or a web page, else ``""``."""
    encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
    kind = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if encoding != "identity":
        return f" (the server sent it compressed, Content-Encoding: {encoding})"
    if kind in ("text/html", "application/xhtml+xml"):
        return f" (the server sent a web page, {kind}: a login, error or landing page?)"
    return ""


def _too_large(shown: str, what: str, options: DownloadOptions) -> str:
    return (
        f"{shown}: the server {what} bytes, over the cap of {options.max_bytes:,} bytes "
        "(download.max_bytes); nothing was kept - check the URL, raise download.max_bytes in "
        f"the config, {_FIX_LOCAL}"
    )
