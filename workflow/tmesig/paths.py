"""Locations of the curated resources shipped with the repository (see resources/README.md)."""

from pathlib import Path

#: Repository root (``workflow/tmesig/paths.py`` -> two levels up).
REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = REPO_ROOT / "resources"
SCHEMAS_DIR = REPO_ROOT / "workflow" / "schemas"
SIGNATURES_DIR = RESOURCES / "signatures"
MARKERS_DIR = RESOURCES / "markers"
GENE_TABLE = RESOURCES / "genes" / "grch38_genes.tsv"
ALIASES_TABLE = RESOURCES / "genes" / "aliases.tsv"
HALLMARK_GMT = RESOURCES / "genesets" / "h.all.v7.5.1.symbols.gmt"
DEMO_H5AD = RESOURCES / "demo" / "qian2020_ovarian_4k.h5ad"

#: Source tables the shipped gene tables are rebuilt from (resources/genes/build_gene_tables.py).
GENE_TABLE_SOURCE = RESOURCES / "genes" / "source" / "grch38_genes.inferploidy.tsv.gz"
GENCODE_V44 = RESOURCES / "genes" / "source" / "gencode_v44_id2name.csv.gz"

#: Small real datasets the tests and benchmarks use (provenance in resources/README.md).
TESTDATA_DIR = RESOURCES / "testdata"
WU2020_TCELLS = TESTDATA_DIR / "wu2020_200_tcells.h5ad"
TIROSH2016 = TESTDATA_DIR / "tirosh2016_oligodendroglioma.h5ad"

#: The seed reviews are not shipped; only the check that a set's section heading is present
#: in its seed's text reads them, from ``../shared/seeds`` beside the repository.
SEEDS_DIR = REPO_ROOT.parent / "shared" / "seeds"
