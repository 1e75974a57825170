"""Files by checksum: SHA-256 digests, the sample sheet's ``sha256`` check, verified downloads."""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .urls import is_sha256, is_url

__all__ = ["fetch_url", "sha256sum", "verify_sha256"]


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


def fetch_url(url: str, dest: str | Path, *, sha256: str, timeout: float = 60.0) -> str:
    """Download ``url`` to ``dest``, keeping it only when its SHA-256 is ``sha256``.

    The body is written to a temporary file next to ``dest`` and renamed to ``dest`` only
    after the checksum matches; on any failure nothing is left behind.

    Parameters
    ----------
    url
        http(s) URL.
    dest
        Where the file goes.
    sha256
        Expected hex digest (required).
    timeout
        Seconds to wait for the connection and each read.

    Returns
    -------
    str
        The digest.

    Raises
    ------
    InputError
        Bad URL scheme, missing checksum, unreachable server, HTTP error or checksum mismatch,
        naming the URL, the problem and the fix.
    """
    if not is_url(url):
        msg = (
            f"{url}: only http(s) URLs are downloaded; give an http(s) URL or a local path in "
            "the sample sheet"
        )
        raise InputError(msg)
    if not is_sha256(sha256):
        msg = (
            f"{url}: a URL needs its sha256 in the sample sheet (64 hex digits); add it to the "
            "'sha256' column"
        )
        raise InputError(msg)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            digest = _download(url, fh, timeout=timeout)
        if digest != sha256.lower():
            msg = (
                f"{url}: sha256 mismatch (sheet says {sha256.lower()}, download is {digest}); "
                "nothing was kept - check that the URL and the 'sha256' column of the sample "
                "sheet name the same file"
            )
            raise InputError(msg)
        os.replace(tmp, dest)
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def _download(url: str, fh: BinaryIO, *, timeout: float) -> str:
    """Stream ``url`` into ``fh`` and return the body's SHA-256; failures as :class:`InputError`."""
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            while block := resp.read(1 << 20):
                h.update(block)
                fh.write(block)
    except urllib.error.HTTPError as err:
        msg = (
            f"{url}: the server answered HTTP {err.code} ({err.reason}); check the URL in the "
            "sample sheet"
        )
        raise InputError(msg) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
        reason = getattr(err, "reason", err)
        msg = (
            f"{url}: download failed, the server is unreachable ({reason}); check the URL and "
            "the network, or download the file yourself and put its local path in the sample "
            "sheet"
        )
        raise InputError(msg) from None
    return h.hexdigest()
