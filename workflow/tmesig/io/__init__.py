"""Reading datasets: errors, formats, matrix state, gene identifiers, fetching, ingest()."""

from .errors import InputError

__all__ = ["InputError"]
