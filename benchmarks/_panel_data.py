"""bench_panel: the panels (gene lists fixed in advance) and what an imaging platform does to
counts (detection thinned to a depth; transcripts of a neighbouring cell assigned to a cell by
segmentation).

None of these rules reads the scored dataset's labels.
"""

import json
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp
from tmesig import annotate as an
from tmesig import paths
from tmesig.signatures import load_library

PANEL_SIZE = 400

#: Epithelial gene families removed from the KRT8-only panels (besides the marker lists).
EPITHELIAL_FAMILY = re.compile(
    r"^(KRT\d+[A-Z]?|EPCAM|CDH1|CLDN\d+|MUC\d+[A-Z]?|ELF3|ESRP\d|SPINT\d|CEACAM\d+|"
    r"TACSTD2|SFTP[A-D]\d?|NAPSA|SCGB\w+|PAX8|WFDC2|MSLN|CRB3|GRHL\d|OVOL\d|ST14|PRSS8)$"
)


def pegasus_markers(per_type: int) -> list[str]:
    """The first ``per_type`` positive markers of every pegasus cell type (file order)."""
    out: list[str] = []

    def walk(types: list[dict]) -> None:
        for ct in types:
            genes = [g[:-1] for b in ct["markers"] for g in b["genes"] if g.endswith("+")]
            out.extend(genes[:per_type])
            walk(ct.get("subtypes", {}).get("cell_types", []))

    for name in ("human_immune_cell_markers.json", "human_lung_cell_markers.json"):
        walk(json.loads((paths.MARKERS_DIR / name).read_text())["cell_types"])
    return list(dict.fromkeys(out))


def de_genes(adata: ad.AnnData, labels: pd.Series, *, top: int, counts: bool) -> list[str]:
    """Top ``top`` up-regulated genes (Wilcoxon) per label of another dataset."""
    a = adata.copy()
    if counts:
        sc.pp.normalize_total(a, target_sum=1e4)
        sc.pp.log1p(a)
    else:
        a.X = np.log1p(a.X / 10.0)
    a.obs["label"] = pd.Categorical(labels.astype(str))
    sc.tl.rank_genes_groups(a, "label", method="wilcoxon")
    names = pd.DataFrame(a.uns["rank_genes_groups"]["names"])
    return list(dict.fromkeys(names.head(top).to_numpy().T.ravel().tolist()))


def other_datasets_de(data_dir: Path | None) -> list[str]:
    """DE genes of Tirosh 2016 (malignant / oligodendrocyte / microglia) and Wu 2020."""
    tirosh = ad.read_h5ad(find(data_dir, paths.TIROSH2016))
    label = (
        tirosh.obs["cell_type"].astype(str).str.replace(r"^malignant_.*", "malignant", regex=True)
    )
    wu = ad.read_h5ad(find(data_dir, paths.WU2020_TCELLS))
    wu.var_names_make_unique()
    prefix = wu.obs["cluster_orig"].astype(str).str.split(".").str[0]
    keep = prefix.isin(["4", "8"]).to_numpy()
    return de_genes(tirosh, label, top=15, counts=False) + de_genes(
        wu[keep].copy(), prefix[keep], top=15, counts=True
    )


def hallmark_genes() -> list[str]:
    genes: list[str] = []
    for line in paths.HALLMARK_GMT.read_text().splitlines():
        genes.extend(line.split("\t")[2:])
    return sorted(set(genes))


def designed_panel(var: pd.Index, de: list[str], seed: int) -> list[str]:
    """Pegasus markers + other-dataset DE genes + library genes, filled with Hallmark genes."""
    rng = np.random.default_rng(seed)
    library = [g for gs in load_library() for g in gs.genes]
    core = [g for g in dict.fromkeys([*pegasus_markers(4), *de, *library]) if g in var]
    if len(core) > PANEL_SIZE:
        core = sorted(rng.choice(core, PANEL_SIZE, replace=False))
    fill = sorted(set(hallmark_genes()) & set(var) - set(core))
    n_fill = max(PANEL_SIZE - len(core), 0)
    return sorted([*core, *rng.choice(fill, n_fill, replace=False)])


def epithelial_genes() -> set[str]:
    """Every epithelial gene of the marker resources (and pegasus epithelial types)."""
    out = set(an.load_markers(an.PANEL_MARKERS)["epithelial"])
    out |= set(an.load_markers()["epithelial"])
    return out


def krt8_only(panel: list[str], var: pd.Index) -> list[str]:
    """``panel`` without epithelial markers, with KRT8 (when measured) as the only one."""
    epi = epithelial_genes()
    kept = [g for g in panel if not (g in epi or EPITHELIAL_FAMILY.match(g))]
    return sorted([*kept, "KRT8"] if "KRT8" in var else kept)


def one_marker_panel(var: pd.Index, seed: int) -> list[str]:
    """The unit test's panel: half pegasus markers, one core marker per lineage, rest random."""
    rng = np.random.default_rng(seed)
    core = an.load_markers()
    pegasus = set(pegasus_markers(1000))
    allcore = {g for genes in core.values() for g in genes}
    vs = set(var)
    keep = {rng.choice(sorted(set(g) & vs)) for g in core.values() if set(g) & vs}
    pool = sorted((pegasus & vs) - allcore)
    genes = list(rng.choice(pool, PANEL_SIZE // 2 - len(keep), replace=False)) + sorted(keep)
    rest = sorted(vs - set(genes) - allcore)
    return sorted(genes + list(rng.choice(rest, PANEL_SIZE - len(genes), replace=False)))


def thin(counts: sp.csr_matrix, *, median_genes: float, seed: int) -> sp.csr_matrix:
    """Binomial thinning of counts to a median of ``median_genes`` genes detected per cell."""
    counts = sp.csr_matrix(counts)
    lo, hi = 0.0, 1.0
    for _ in range(20):
        p = (lo + hi) / 2
        out = counts.copy()
        out.data = np.random.default_rng(seed).binomial(out.data.astype(np.int64), p)
        out.eliminate_zeros()
        if np.median(np.diff(out.indptr)) < median_genes:
            lo = p
        else:
            hi = p
    out.data = out.data.astype(np.float32)
    return out


def find(data_dir: Path | None, shipped: Path) -> Path:
    """``data_dir / shipped.name`` when given and present, else the shipped file."""
    if data_dir is not None and (data_dir / shipped.name).is_file():
        return data_dir / shipped.name
    return shipped


def spill(counts: sp.csr_matrix, *, fraction: float, seed: int) -> sp.csr_matrix:
    """Segmentation spill-over: every cell also gets ``fraction`` of a random other cell's
    transcripts (each transcript kept with that probability), as when a boundary cuts into
    a neighbour. Neighbours are drawn at random (tissue mixing without structure)."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = counts.shape[0]
    neighbour = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the cell itself
    extra = counts[neighbour].copy()
    extra.data = rng.binomial(extra.data.astype(np.int64), fraction).astype(np.float64)
    out = counts + extra
    out.eliminate_zeros()
    return sp.csr_matrix(out, dtype=np.float32)
