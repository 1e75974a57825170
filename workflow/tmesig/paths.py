"""Locations of the curated resources shipped with the repository."""

from pathlib import Path

#: Repository root (``workflow/tmesig/paths.py`` -> two levels up).
REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = REPO_ROOT / "resources"
SIGNATURES_DIR = RESOURCES / "signatures"
MARKERS_DIR = RESOURCES / "markers"
GENE_TABLE = RESOURCES / "genes" / "grch38_genes.tsv"
HALLMARK_GMT = RESOURCES / "genesets" / "h.all.v7.5.1.symbols.gmt"
BHKLAB_DIR = RESOURCES / "genesets" / "bhklab_io"
SEEDS_DIR_NAMES = (
    "000_9146605882370660.txt",
    "001_605cc9f51f1d3c85.txt",
    "002_0f86049f5147ed74.txt",
)
