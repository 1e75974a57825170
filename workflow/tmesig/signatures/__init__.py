"""The tmesig signature library: one YAML file per gene set.

Each file in ``resources/signatures/`` describes one gene set taken from the seed
reviews on immune-checkpoint-blockade (ICB) resistance in NSCLC, or a published set
that fits a mechanism the seeds discuss. The file format is fixed by
``workflow/schemas/signature.schema.yaml``; the seed reviews (citation, DOI, licence)
are listed in ``resources/signatures/seeds.tsv``. This package loads, validates and
exports the library (GMT, table).

* ``_schema`` — the JSON schema of one set file;
* ``_seeds`` — the table of seed reviews a set's ``provenance.seed`` names;
* ``_geneset`` / ``_load`` — one set (:class:`GeneSet`) and loading one file;
* ``_symbols`` — the gene symbols a set may use (the gene table);
* ``_library`` — the library directory and its summary table;
* ``_card`` — the nine design-card items, and the genes of gene-level sets;
* ``_compartments`` — where a set is pre-specified (:func:`primary_in`, lineage and state
  level) and the check of the state names a set uses (:func:`check_set_compartments`);
* ``_gmt`` — GMT write/read.

Direction convention (:data:`tmesig.constants.DIRECTIONS`): ``up`` means a high score
marks resistance; ``down`` means a LOW score marks resistance (e.g. antigen
presentation, T-cell-inflamed GEP). The compartments a set may name are
:data:`tmesig.constants.SET_COMPARTMENTS` and the cell states of the subsets markers file.
"""

from ._card import CARD_ITEMS, CardItem, card_genes, gene_level_genes
from ._compartments import EPITHELIAL_STATES, check_set_compartments, primary_in, state_lineages
from ._geneset import GeneSet
from ._gmt import read_gmt, write_gmt
from ._library import library_table, load_library
from ._load import load_gene_set
from ._schema import SIGNATURE_SCHEMA, load_schema
from ._seeds import SEEDS_TABLE, Seed, load_seeds
from ._symbols import load_gene_symbols

__all__ = [
    "CARD_ITEMS",
    "EPITHELIAL_STATES",
    "SEEDS_TABLE",
    "SIGNATURE_SCHEMA",
    "CardItem",
    "GeneSet",
    "Seed",
    "card_genes",
    "check_set_compartments",
    "gene_level_genes",
    "library_table",
    "load_gene_set",
    "load_gene_symbols",
    "load_library",
    "load_schema",
    "load_seeds",
    "primary_in",
    "read_gmt",
    "state_lineages",
    "write_gmt",
]
