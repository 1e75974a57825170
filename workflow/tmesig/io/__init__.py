"""Reading datasets: errors, formats, matrix state, gene identifiers, fetching, ingest().

One concept per module:

- :mod:`~tmesig.io.errors` - :class:`InputError`, the error meaning "the user's input is wrong";
- :mod:`~tmesig.io.urls` - the rules for URLs and ``sha256`` values;
- :mod:`~tmesig.io.formats` - readers for ``.h5ad``, 10x ``.h5`` and 10x matrix directories;
- :mod:`~tmesig.io.matrix_state` - what a matrix holds (counts, normalised, log...);
- :mod:`~tmesig.io.counts` - :func:`find_counts`, where the raw counts are;
- :mod:`~tmesig.io.cell_checks` - every cell of the chosen matrix: absurd values, mixed scales;
- :mod:`~tmesig.io.merge` - several files stacked over the genes they share;
- :mod:`~tmesig.io.metadata` - sample, patient, condition per cell and the design checks;
- :mod:`~tmesig.io.genes` - Ensembl IDs -> symbols, aliases, duplicated symbols, mouse;
- :mod:`~tmesig.io.fetch` - checksums and verified downloads;
- :mod:`~tmesig.io.rows` - a matrix read a chunk of cells at a time (large datasets);
- :mod:`~tmesig.io.h5ad_backed` - an ``.h5ad`` opened with its matrices left in the file;
- :mod:`~tmesig.io.ingest_file` - one file of a dataset, and :class:`IngestOptions`;
- :mod:`~tmesig.io.ingest_record` - the ingest summary;
- :mod:`~tmesig.io.ingest` - :func:`ingest`, one dataset to counts, symbols and metadata
  (:func:`ingest_lazily`: the same, a large matrix left to be written block by block).

Import the names from here: ``from tmesig.io import ingest, IngestOptions, InputError``
(``tmesig.io.ingest`` is the function; its module is ``sys.modules["tmesig.io.ingest"]``).
"""

from .cell_checks import check_cells
from .counts import find_counts
from .errors import InputError
from .fetch import fetch_url, sha256sum, verify_sha256
from .formats import (
    FORMATS,
    URL_RE,
    dataset_format,
    file_label,
    read_10x_h5,
    read_10x_mtx,
    read_any,
    split_paths,
)
from .genes import (
    ALIAS_TABLE,
    check_signature_overlap,
    detect_species,
    load_aliases,
    load_gene_map,
    map_gene_ids,
    resolve_aliases,
    sum_duplicate_genes,
    var_symbols,
)
from .ingest import MIN_CELLS, IngestOptions, ingest, ingest_lazily
from .matrix_state import MatrixState, detect_matrix_state
from .merge import intersect_files
from .metadata import check_design, check_named_columns
from .urls import SHA256_RE, URL_FORMATS, is_sha256, is_url, url_format

__all__ = [
    "ALIAS_TABLE",
    "FORMATS",
    "MIN_CELLS",
    "SHA256_RE",
    "URL_FORMATS",
    "URL_RE",
    "IngestOptions",
    "InputError",
    "MatrixState",
    "check_cells",
    "check_design",
    "check_signature_overlap",
    "check_named_columns",
    "dataset_format",
    "detect_matrix_state",
    "detect_species",
    "fetch_url",
    "intersect_files",
    "file_label",
    "find_counts",
    "ingest",
    "ingest_lazily",
    "is_sha256",
    "is_url",
    "load_aliases",
    "load_gene_map",
    "map_gene_ids",
    "read_10x_h5",
    "read_10x_mtx",
    "read_any",
    "resolve_aliases",
    "sha256sum",
    "split_paths",
    "sum_duplicate_genes",
    "url_format",
    "verify_sha256",
    "var_symbols",
]
