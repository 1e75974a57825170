"""Loading a CellTypist model: a pickle, so its bytes are checked before it is unpickled.

A CellTypist model file is a Python pickle, and unpickling can run arbitrary code. With a
``sha256`` (the pipeline requires ``annotate.celltypist_sha256`` with a model), the file is
copied into a private temporary directory while it is hashed, and only that verified copy
is loaded: the bytes unpickled are the bytes checked. ``celltypist`` is imported lazily, with
``CELLTYPIST_FOLDER`` set first (it would otherwise create ``~/.celltypist``). Nothing is
downloaded.
"""

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from .io.errors import InputError

__all__ = ["load_model"]


def load_model(
    model_path: str | Path, *, cache_dir: str | Path | None = None, sha256: str | None = None
) -> tuple[Any, Any]:
    """The ``celltypist`` module and the model of a local file, checked before it is loaded.

    Parameters
    ----------
    model_path
        Local ``.pkl`` model file.
    cache_dir
        Directory for ``CELLTYPIST_FOLDER``; default a temporary directory.
    sha256
        Expected SHA-256 of the file (64 hex digits); ``None`` skips the check (only for a
        model you trust, e.g. one you trained yourself).

    Returns
    -------
    celltypist, model
        The imported module and the loaded ``celltypist.models.Model``.

    Raises
    ------
    FileNotFoundError
        If ``model_path`` does not exist.
    ImportError
        If celltypist is not installed.
    InputError
        If the file's SHA-256 is not ``sha256`` (nothing is unpickled then) or the file is
        not a CellTypist model.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        msg = (
            f"CellTypist model {model_path} does not exist; pass a local .pkl model file "
            "(tmesig never downloads models)."
        )
        raise FileNotFoundError(msg)
    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "tmesig_celltypist"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CELLTYPIST_FOLDER", str(folder))
    try:
        import celltypist
        from celltypist import models
    except ImportError as exc:
        msg = "celltypist is not installed; pip install celltypist to use run_celltypist."
        raise ImportError(msg) from exc
    with tempfile.TemporaryDirectory(prefix="tmesig-model-") as private:
        source = _verified_copy(model_path, Path(private), sha256) if sha256 else model_path
        try:
            # an absolute path: celltypist treats a name without "/" as a model of its
            # registry, and with an empty model folder that means a download attempt
            model = models.Model.load(str(source.resolve()))
        except Exception as exc:  # celltypist raises bare Exceptions / pickle errors
            msg = (
                f"CellTypist model {model_path} could not be read ({type(exc).__name__}); "
                "pass a .pkl file written by celltypist (models.Model.write or download_models)."
            )
            raise InputError(msg) from exc
    return celltypist, model


def _verified_copy(model_path: Path, folder: Path, sha256: str) -> Path:
    """Copy ``model_path`` into ``folder``, hashing it; refuse a digest other than ``sha256``."""
    h = hashlib.sha256()
    copy = folder / "model.pkl"
    with open(model_path, "rb") as src, open(copy, "wb") as dst:
        while block := src.read(1 << 20):
            h.update(block)
            dst.write(block)
    expected = sha256.strip().lower()
    if h.hexdigest() != expected:
        msg = (
            f"CellTypist model {model_path}: sha256 mismatch (annotate.celltypist_sha256 says "
            f"{expected}, the file is {h.hexdigest()}); a model is a pickle, which can run code "
            "when loaded, so it was not loaded. Fix: check that the file is the model you meant "
            "and set annotate.celltypist_sha256 to its digest (sha256sum)"
        )
        raise InputError(msg)
    return copy
