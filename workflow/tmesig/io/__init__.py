"""Reading datasets: errors, formats, what the matrix holds, gene identifiers, fetching, ``ingest()``."""

from .errors import InputError

__all__ = ["InputError"]
