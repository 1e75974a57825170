"""Second-level (subset) annotation inside each lineage compartment.

Lineage first (:func:`tmesig.annotate.annotate`), then subsets inside each lineage from
``resources/markers/subsets.yaml`` (CD8 effector/memory vs exhausted, CD4 conventional,
Treg, NK, MAIT; B vs plasma; classical monocyte, macrophage, cDC1, cDC2, pDC, mregDC;
CAF vs normal fibroblast, pericyte, smooth muscle; tumour / normal / lymphatic
endothelium; alveolar and airway epithelium). Malignant cells are not a marker subset:
they come from copy number (:mod:`tmesig.cnv`) and are merged by :func:`merge_malignant`.

Scores
------
Inside a lineage, every subset is scored with :func:`tmesig.annotate.gene_set_scores` on
the lineage's cells only (gene scaling by the 90th percentile of the gene's non-zero values
*among the lineage's cells*), so a subset's score is in ``[0, 1]``; a subset with
``negative`` genes has its score multiplied by ``1 - (negative score)``.

Tree
----
Subsets without ``parent`` are *roots* (e.g. ``CD8_T``, ``CD4_T``, ``NK``, ``MAIT``);
subsets with a parent refine it (``CD8_effector_memory`` / ``CD8_exhausted`` under
``CD8_T``). Each level compares siblings only.

Calls and confidence
--------------------
*Sub-clusters*: the lineage's cells are re-clustered (HVGs of the lineage's cells plus the
lineage's subset marker genes, PCA, kNN, Leiden with a fixed ``seed`` and ``resolution``);
lineages with fewer than ``min_cells_subcluster`` cells form one sub-cluster.

*Cluster level* (column ``subset``): at each level, exactly as for lineages
(:func:`tmesig.annotate.annotate`): with ``S`` the sub-cluster's mean sibling scores,
``margin = (S_top - S_second) / S_top``, ``agreement`` = fraction of the sub-cluster's cells
whose own best sibling is ``top``, ``confidence = sqrt(agreement * margin)``. A root call
needs ``confidence >= min_confidence``, ``margin >= min_margin`` and ``S_top >= min_score``,
else the sub-cluster is ``unassigned``. A child call needs the same; otherwise the call
stays at the parent (``CD8_T``: "CD8 T cell, state unresolved"). The reported
``subset_confidence`` is the minimum of the confidences along the path.

The absolute floor ``min_score`` (default 0.2: the sub-cluster's cells express the
subset's genes at a fifth of a typical expressing level on average) matters when only one
sibling is scorable (the others lack detected genes): the margin is then 1 by
construction, and only the floor stops e.g. ovarian carcinoma cells with a trace of
ciliated-cell genes from being called airway epithelium.

*Cell level* (column ``cell_subset``): the cell's best sibling at each level, with the
relative margin as confidence; ``unassigned`` (root) or parent fallback (child) when the
margin is below ``min_cell_margin`` or the best score below ``min_cell_score`` (0.1). Use it when
clusters are too small to trust (a few hundred cells).

Identity genes and propagation
------------------------------
Roots may list ``identity`` genes: the few lineage-defining genes of the root (``CD8_T``:
CD8A, CD8B, CD8B2; ``CD4_T``: CD4, CD40LG, FOXP3, ANKRD55, TNFRSF4). When at least two
roots of a lineage have them (and ``propagate=True``, the default), the per-cell call
between those roots is made from the identity genes only, so state programmes shared
across lineages (cytotoxic genes of CD4 Trm cells) do not decide CD8 vs CD4:

1. cells called (per cell) as one of these roots, or unassigned with one of them as best
   root, are *eligible*; NK / MAIT cell calls are left as they are;
2. an eligible cell is a *seed* when its identity scores (``gene_set_scores`` of each
   root's identity genes among the lineage's cells) have a best value ``> 0`` and a
   relative margin ``>= min_identity_margin`` (0.5);
3. the seed labels are spread over the lineage's kNN graph (the sub-clustering graph:
   HVGs + marker genes, PCA, ``n_neighbors``, seeded) by label spreading (Zhou et al.
   2004, "Learning with local and global consistency"; the fixed point of
   :class:`sklearn.semi_supervised.LabelSpreading`, solved by conjugate gradients):
   ``F = (1 - alpha) (I - alpha S)^-1 Y`` with ``alpha = propagation_alpha`` (0.99, the
   paper's value). Seeds are not clamped: one or two identity reads (ambient RNA,
   doublets) in a cell whose whole neighbourhood carries the other label are outvoted.
   With ``balance_propagation`` (default) each label's seeds carry a total mass of 1
   (class-mass normalisation), because CD8A/CD8B are detected about three times as often
   as CD4/CD40LG in droplet data, so seed counts reflect detection rates more than
   abundance. Every eligible cell takes its arg-max label;
4. the confidence is the cell's *neighbour agreement*: the relative margin of its label
   in the weighted vote of its kNN neighbours' spread labels (1: all neighbours agree;
   0: the neighbourhood prefers the other label). Below ``min_cell_margin`` (or no seed
   reachable) the cell is ``unassigned``. ``cell_subset_source`` says how the call was
   made: ``identity`` (seed, neighbourhood agrees), ``identity_overridden`` (seed whose
   identity genes pointed to the other root), ``propagated`` (no seed).

On Wu et al. 2020 T cells (200 cells, ``benchmarks/bench_annotation.py``) this gives
0.925 accuracy among CD4/CD8 calls with 7% unassigned; hard-clamped propagation (seeds
fixed to their identity genes) gave 0.837 with 2% unassigned.

The children of these roots are then called per cell as usual. The cluster-level
``subset`` column is unchanged by this step.

Axes
----
Continuous axes (``axes:`` in the YAML, e.g. ``macrophage_M2_minus_M1``) are reported as
``axis_<name> = score(positive genes) - score(negative genes)`` (in ``[-1, 1]``) for cells
whose cluster-level ``subset`` is the axis' subset, ``NaN`` elsewhere.

Everything is deterministic (seeded Leiden; stable tie-breaking in YAML order).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from tmesig import paths
from tmesig.annotate import (
    COMPARTMENTS,
    UNASSIGNED,
    _best_two,
    _relative_margin,
    gene_set_scores,
)

if TYPE_CHECKING:
    import anndata as ad

__all__ = [
    "MALIGNANT",
    "OTHER_NORMAL_EPITHELIUM",
    "Axis",
    "Subset",
    "SubsetMarkers",
    "annotate_subsets",
    "load_subset_markers",
    "merge_malignant",
]

#: Default subset marker file.
DEFAULT_SUBSET_MARKERS = paths.MARKERS_DIR / "subsets.yaml"
#: Subset label for cells called malignant from copy number.
MALIGNANT = "malignant"
#: Subset label for CNV-non-malignant epithelial cells without a normal-epithelium marker call.
OTHER_NORMAL_EPITHELIUM = "other_normal_epithelium"


@dataclass(frozen=True)
class Subset:
    """One subset: name, lineage, positive / negative genes, optional parent, source.

    ``identity`` (optional, roots only): the few lineage-defining genes used for the
    per-cell call between roots that have them (e.g. CD8A/CD8B vs CD4/CD40LG), see
    "Identity genes and propagation" in the module docstring.
    """

    name: str
    lineage: str
    genes: tuple[str, ...]
    negative: tuple[str, ...] = ()
    parent: str | None = None
    source: str = ""
    identity: tuple[str, ...] = ()


@dataclass(frozen=True)
class Axis:
    """A continuous axis ``score(positive) - score(negative)`` for the cells of a subset."""

    name: str
    lineage: str
    subset: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class SubsetMarkers:
    """Parsed ``subsets.yaml``: subsets (file order) and axes."""

    subsets: tuple[Subset, ...]
    axes: tuple[Axis, ...] = ()

    def of_lineage(self, lineage: str) -> list[Subset]:
        """Subsets of one lineage, in file order."""
        return [s for s in self.subsets if s.lineage == lineage]

    def children(self, name: str) -> list[Subset]:
        """Subsets whose parent is ``name``."""
        return [s for s in self.subsets if s.parent == name]

    def ancestors(self, name: str) -> list[str]:
        """``[name, parent, ...]`` up to the root."""
        by = {s.name: s for s in self.subsets}
        out = [name]
        while name in by and by[name].parent is not None:
            name = by[name].parent
            out.append(name)
        return out

    @property
    def names(self) -> list[str]:
        """All subset names in file order."""
        return [s.name for s in self.subsets]


# --------------------------------------------------------------------------------------
# Marker file
# --------------------------------------------------------------------------------------
def _gene_list(
    path: Path, where: str, value: object, *, allow_empty: bool = False
) -> tuple[str, ...]:
    if value is None and allow_empty:
        return ()
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or (len(value) == 0 and not allow_empty)
        or not all(isinstance(g, str) and g.strip() for g in value)
    ):
        msg = f"Subset marker file {path}: {where} needs a non-empty list of gene symbols."
        raise ValueError(msg)
    return tuple(dict.fromkeys(g.strip() for g in value))


def load_subset_markers(path: str | Path | None = None) -> SubsetMarkers:
    """Load and validate subset markers (``resources/markers/subsets.yaml`` by default).

    Parameters
    ----------
    path
        YAML file with ``lineages:`` (lineage -> subset -> ``{genes, negative?, parent?,
        identity?, source}``) and optional ``axes:`` (name -> ``{lineage, subset, positive, negative,
        source}``).

    Returns
    -------
    SubsetMarkers

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Malformed file, unknown lineage, duplicate subset name, subset named like a
        lineage, parent missing / in another lineage / itself a child, empty gene list,
        missing ``source``, or an axis naming an unknown subset. The message names the file.
    """
    path = Path(DEFAULT_SUBSET_MARKERS if path is None else path)
    if not path.is_file():
        msg = f"Subset marker file {path} does not exist; pass an existing YAML file."
        raise FileNotFoundError(msg)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        msg = f"Subset marker file {path} is not valid YAML ({exc}); fix the syntax."
        raise ValueError(msg) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("lineages"), Mapping):
        msg = (
            f"Subset marker file {path} has no top-level 'lineages:' mapping; add one "
            "mapping lineage -> subset -> {genes, source}."
        )
        raise ValueError(msg)
    subsets: list[Subset] = []
    seen: dict[str, str] = {}
    for lineage, entries in data["lineages"].items():
        if lineage not in COMPARTMENTS:
            msg = (
                f"Subset marker file {path}: unknown lineage {lineage!r}; use one of "
                f"{', '.join(COMPARTMENTS)}."
            )
            raise ValueError(msg)
        if not isinstance(entries, Mapping) or not entries:
            msg = f"Subset marker file {path}: lineage {lineage!r} needs a mapping of subsets."
            raise ValueError(msg)
        for name, entry in entries.items():
            where = f"subset {name!r} ({lineage})"
            if name in seen or name in COMPARTMENTS or name in (UNASSIGNED, MALIGNANT):
                msg = (
                    f"Subset marker file {path}: {where} is defined twice or reuses a "
                    "lineage / reserved name; give it a unique name."
                )
                raise ValueError(msg)
            if not isinstance(entry, Mapping):
                msg = f"Subset marker file {path}: {where} must be a mapping with 'genes:'."
                raise ValueError(msg)
            source = entry.get("source")
            if not isinstance(source, str) or not source.strip():
                msg = f"Subset marker file {path}: {where} has no 'source:'; say where the genes come from."
                raise ValueError(msg)
            subsets.append(
                Subset(
                    name=str(name),
                    lineage=lineage,
                    genes=_gene_list(path, f"{where} 'genes'", entry.get("genes")),
                    negative=_gene_list(
                        path, f"{where} 'negative'", entry.get("negative"), allow_empty=True
                    ),
                    parent=entry.get("parent"),
                    source=source.strip(),
                    identity=_gene_list(
                        path, f"{where} 'identity'", entry.get("identity"), allow_empty=True
                    ),
                )
            )
            seen[str(name)] = lineage
    by = {s.name: s for s in subsets}
    for s in subsets:
        if s.parent is None:
            continue
        parent = by.get(s.parent)
        if parent is None or parent.lineage != s.lineage or parent.parent is not None:
            msg = (
                f"Subset marker file {path}: subset {s.name!r} has parent {s.parent!r}, which "
                "must be a top-level subset (no parent) of the same lineage."
            )
            raise ValueError(msg)
        if s.identity:
            msg = (
                f"Subset marker file {path}: subset {s.name!r} has 'identity' genes but a "
                "parent; identity genes are for top-level subsets only."
            )
            raise ValueError(msg)
    axes: list[Axis] = []
    for name, entry in (data.get("axes") or {}).items():
        if not isinstance(entry, Mapping) or entry.get("subset") not in by:
            msg = f"Subset marker file {path}: axis {name!r} must name a defined 'subset:'."
            raise ValueError(msg)
        sub = by[entry["subset"]]
        axes.append(
            Axis(
                name=str(name),
                lineage=sub.lineage,
                subset=sub.name,
                positive=_gene_list(path, f"axis {name!r} 'positive'", entry.get("positive")),
                negative=_gene_list(path, f"axis {name!r} 'negative'", entry.get("negative")),
                source=str(entry.get("source", "")),
            )
        )
    return SubsetMarkers(subsets=tuple(subsets), axes=tuple(axes))


# --------------------------------------------------------------------------------------
# Sub-clustering
# --------------------------------------------------------------------------------------
def _subcluster(
    sub: ad.AnnData,
    *,
    extra_genes: Sequence[str],
    resolution: float,
    seed: int,
    n_neighbors: int,
    n_top_genes: int,
    leiden: bool = True,
) -> tuple[np.ndarray | None, sp.csr_matrix]:
    """Leiden labels (str; None without ``leiden``) and the kNN connectivities of one lineage.

    HVGs of the lineage's cells + the lineage's marker genes, PCA, kNN (seeded).
    """
    import scanpy as sc

    work = sub.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.highly_variable_genes(work, n_top_genes=min(n_top_genes, work.n_vars))
    keep = work.var["highly_variable"].to_numpy() | work.var_names.isin(list(extra_genes))
    work = work[:, keep].copy()
    n_comps = int(max(2, min(20, work.n_obs - 2, work.n_vars - 1)))
    sc.pp.pca(work, n_comps=n_comps, random_state=seed)
    sc.pp.neighbors(work, n_neighbors=min(n_neighbors, work.n_obs - 1), random_state=seed)
    graph = sp.csr_matrix(work.obsp["connectivities"])
    if not leiden:
        return None, graph
    sc.tl.leiden(
        work,
        resolution=resolution,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        random_state=seed,
        key_added="_sub",
    )
    return work.obs["_sub"].astype(str).to_numpy(), graph


def _symmetric_graph(graph: sp.spmatrix) -> sp.csr_matrix:
    """``max(W, W^T)`` as float CSR without self-loops."""
    w = sp.csr_matrix(graph, dtype=float)
    w = w.maximum(w.T).tocsr()
    w.setdiag(0.0)
    w.eliminate_zeros()
    return w


def _spread(
    graph: sp.csr_matrix,
    seed_label: np.ndarray,
    n_labels: int,
    *,
    alpha: float,
    balance: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Label spreading over a kNN graph (Zhou et al. 2004), solved exactly.

    ``F = (1 - alpha) (I - alpha S)^-1 Y`` with ``S = D^-1/2 W D^-1/2`` (``W`` the
    symmetrised graph without self-loops, ``D`` its degrees) and ``Y`` the one-hot seed
    labels (``seed_label >= 0``); with ``balance`` each label's column of ``Y`` is divided
    by its number of seeds (class-mass normalisation). This is the fixed point of
    :class:`sklearn.semi_supervised.LabelSpreading` (same ``alpha``) computed by conjugate
    gradients on the sparse graph, so it scales to atlas lineages. Seeds are *not* clamped:
    a seed whose neighbourhood carries the other label can change.

    Returns ``(label, F)``: per cell the arg-max label (``-1`` where ``F`` is all zero: no
    seed reachable), and ``F`` itself.
    """
    from scipy.sparse.linalg import cg

    n = seed_label.size
    y = np.zeros((n, n_labels))
    has = seed_label >= 0
    y[np.flatnonzero(has), seed_label[has]] = 1.0
    if balance:
        y /= np.maximum(y.sum(axis=0, keepdims=True), 1.0)
    w = _symmetric_graph(graph)
    deg = np.asarray(w.sum(axis=1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    s_mat = sp.diags(inv) @ w @ sp.diags(inv)
    system = (sp.identity(n, format="csr") - alpha * s_mat).tocsr()
    f = np.zeros_like(y)
    for j in range(n_labels):
        rhs = (1.0 - alpha) * y[:, j]
        if not rhs.any():
            continue
        sol, info = cg(system, rhs, rtol=1e-10, atol=0.0, maxiter=10 * n + 1000)
        if info != 0:  # pragma: no cover - SPD system; CG converges
            msg = f"label spreading did not converge (scipy cg info={info})."
            raise RuntimeError(msg)
        f[:, j] = np.maximum(sol, 0.0)
    best = np.argmax(f, axis=1)  # first maximum: stable tie-breaking in label order
    label = np.where(f[np.arange(n), best] > 0, best, -1)
    return label, f


def _neighbour_agreement(graph: sp.csr_matrix, label: np.ndarray, n_labels: int) -> np.ndarray:
    """Relative margin of a cell's own label in the weighted vote of its kNN neighbours.

    ``(v_own - v_other_max) / v_max`` over the neighbours with a label (``label >= 0``),
    clipped at 0 (0 when the neighbourhood prefers another label or has none).
    """
    w = _symmetric_graph(graph)
    onehot = np.zeros((label.size, n_labels))
    has = label >= 0
    onehot[np.flatnonzero(has), label[has]] = 1.0
    votes = np.asarray(w @ onehot)
    own = np.where(has, votes[np.arange(label.size), np.maximum(label, 0)], 0.0)
    other = votes.copy()
    other[np.flatnonzero(has), label[has]] = -np.inf
    other_max = other.max(axis=1) if n_labels > 1 else np.zeros(label.size)
    top = votes.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(has & (top > 0), (own - other_max) / np.where(top > 0, top, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------
# Level calls
# --------------------------------------------------------------------------------------
def _level(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> dict[str, np.ndarray]:
    """Cell- and cluster-level best / margin / agreement / confidence for one sibling set."""
    c_idx, c_best, _, c_second = _best_two(values)
    cell_margin = np.where(c_idx >= 0, _relative_margin(c_best, c_second), 0.0)
    finite = np.where(np.isfinite(values), values, 0.0)
    n_cells = np.bincount(codes, minlength=n_clusters).astype(float)
    sums = np.zeros((n_clusters, values.shape[1]))
    np.add.at(sums, codes, finite)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n_cells[:, None]
    means[:, ~np.isfinite(values).any(axis=0)] = np.nan
    means[n_cells == 0] = np.nan
    k_idx, k_best, _, k_second = _best_two(means)
    margin = _relative_margin(k_best, k_second)
    agrees = (c_idx == k_idx[codes]) & (c_idx >= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.bincount(codes, weights=agrees.astype(float), minlength=n_clusters) / n_cells
    agreement = np.nan_to_num(agreement)
    return {
        "cell_idx": c_idx,
        "cell_best": c_best,
        "cell_margin": cell_margin,
        "idx": k_idx,
        "best": k_best,
        "margin": margin,
        "agreement": agreement,
        "confidence": np.sqrt(agreement * margin),
    }


def annotate_subsets(
    adata: ad.AnnData,
    lineage: pd.Series | Sequence[str],
    *,
    markers: SubsetMarkers | None = None,
    layer: str | None = None,
    resolution: float = 1.0,
    seed: int = 0,
    n_neighbors: int = 15,
    n_top_genes: int = 1500,
    min_cells_subcluster: int = 30,
    min_confidence: float = 0.4,
    min_margin: float = 0.2,
    min_score: float = 0.2,
    min_cell_margin: float = 0.2,
    min_cell_score: float = 0.1,
    quantile: float = 0.9,
    min_markers: int = 2,
    min_fraction: float = 0.4,
    propagate: bool = True,
    min_identity_margin: float = 0.5,
    balance_propagation: bool = True,
    propagation_alpha: float = 0.99,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Call subsets inside each lineage, per sub-cluster and per cell, with confidence.

    Parameters
    ----------
    adata
        Cells x genes with log-normalised expression in ``X`` (or ``layer``); unique gene
        symbols.
    lineage
        Lineage label per cell (e.g. ``cells["compartment"]`` from
        :func:`tmesig.annotate.annotate`, or author labels mapped with
        :func:`tmesig.celltypist_bridge.labels_from_column`); aligned to ``obs_names``
        when a Series. Cells whose lineage has no subsets (or is ``unassigned``) get
        ``unassigned``.
    markers
        Parsed subset markers; default :func:`load_subset_markers`.
    layer
        Expression layer (``None``: ``X``).
    resolution, seed, n_neighbors, n_top_genes
        Sub-clustering: Leiden resolution and seed, kNN size, number of HVGs (computed on
        the lineage's cells; the lineage's marker genes are always added).
    min_cells_subcluster
        Lineages with fewer cells are one sub-cluster.
    min_confidence, min_margin, min_score
        Cluster-level thresholds at every level (see module docstring).
    min_cell_margin, min_cell_score
        Cell-level relative-margin and best-score thresholds.
    quantile, min_markers, min_fraction
        Passed to :func:`tmesig.annotate.gene_set_scores`: a subset is scored (else
        ``NaN``, never called) only with at least ``min_markers`` genes and at least
        ``min_fraction`` of its genes detected among the lineage's cells.
    propagate
        Per-cell root call between roots with ``identity`` genes (``CD8_T`` vs ``CD4_T``)
        from the identity genes only, with kNN label propagation for cells whose identity
        genes are not detected (see the module docstring). ``False``: the plain
        best-sibling per-cell call.
    min_identity_margin
        Relative margin of the identity scores for a cell to be a spreading seed.
    balance_propagation
        Class-mass normalisation of the spreading: each label's seeds carry a total
        mass of 1 whatever their number (default True).
    propagation_alpha
        Label-spreading ``alpha`` in ``[0, 1)``: the weight of the neighbourhood against
        a cell's own identity-gene evidence (0: seeds keep their own call; default 0.99,
        the value of Zhou et al. 2004).

    Returns
    -------
    cells : pandas.DataFrame
        Index ``obs_names``; columns ``lineage``, ``subcluster``, ``subset`` (cluster-level
        call), ``subset_confidence``, ``subset_root`` (level-1 call), ``cell_subset``,
        ``cell_subset_confidence``, ``cell_subset_source`` (how the per-cell root call was
        made: ``markers``, ``identity``, ``propagated``; empty when ``unassigned``),
        ``axis_<name>`` per axis and ``score_<subset>`` per
        subset (``NaN`` outside the subset's lineage).
    clusters : pandas.DataFrame
        One row per sub-cluster: ``lineage``, ``subcluster``, ``n_cells``, ``subset``,
        ``confidence``, ``root_top``, ``root_margin``, ``root_agreement``,
        ``root_confidence``, ``child_top``, ``child_margin``, ``child_agreement``,
        ``child_confidence`` and mean ``score_<subset>``. ``.attrs`` holds the thresholds
        and per-lineage ``markers_used`` / ``unscored``.
    """
    markers = load_subset_markers() if markers is None else markers
    for name, value in (
        ("min_confidence", min_confidence),
        ("min_margin", min_margin),
        ("min_score", min_score),
        ("min_cell_margin", min_cell_margin),
        ("min_cell_score", min_cell_score),
        ("min_identity_margin", min_identity_margin),
    ):
        if not 0.0 <= value <= 1.0:
            msg = f"{name} must be in [0, 1], got {value}."
            raise ValueError(msg)
    if not 0.0 <= propagation_alpha < 1.0:
        msg = f"propagation_alpha must be in [0, 1), got {propagation_alpha}."
        raise ValueError(msg)
    if isinstance(lineage, pd.Series):
        if not lineage.index.equals(adata.obs_names):
            if not adata.obs_names.isin(lineage.index).all():
                msg = (
                    "lineage Series index does not cover adata.obs_names; pass one label per cell."
                )
                raise ValueError(msg)
            lineage = lineage.reindex(adata.obs_names)
        lin = lineage.astype(object).fillna(UNASSIGNED).astype(str).to_numpy()
    else:
        lin = np.asarray(lineage, dtype=object).astype(str)
        if len(lin) != adata.n_obs:
            msg = f"lineage has {len(lin)} labels for {adata.n_obs} cells; pass one per cell."
            raise ValueError(msg)

    names = markers.names
    n = adata.n_obs
    score_tab = np.full((n, len(names)), np.nan)
    col = {s: j for j, s in enumerate(names)}
    subcluster = np.full(n, UNASSIGNED, dtype=object)
    subset = np.full(n, UNASSIGNED, dtype=object)
    subset_conf = np.zeros(n)
    subset_root = np.full(n, UNASSIGNED, dtype=object)
    cell_subset = np.full(n, UNASSIGNED, dtype=object)
    cell_conf = np.zeros(n)
    cell_source = np.full(n, "", dtype=object)
    axes_out = {a.name: np.full(n, np.nan) for a in markers.axes}
    cluster_rows: list[dict[str, object]] = []
    used_meta: dict[str, dict[str, list[str]]] = {}
    unscored_meta: dict[str, list[str]] = {}

    for lin_name in COMPARTMENTS:
        lin_subsets = markers.of_lineage(lin_name)
        rows = np.flatnonzero(lin == lin_name)
        if not lin_subsets or rows.size == 0:
            continue
        sub = adata[rows]
        genes = {s.name: list(s.genes) for s in lin_subsets}
        neg = {s.name: list(s.negative) for s in lin_subsets if s.negative}
        scores = gene_set_scores(
            sub,
            genes,
            layer=layer,
            quantile=quantile,
            min_markers=min_markers,
            negative=neg,
            min_fraction=min_fraction,
            warn=False,
        )
        used_meta[lin_name] = scores.attrs["markers_used"]
        unscored_meta[lin_name] = scores.attrs["unscored"]
        values_all = scores.to_numpy()
        for s in lin_subsets:
            score_tab[rows, col[s.name]] = values_all[:, list(scores.columns).index(s.name)]

        # Sub-clusters (and the kNN graph used for propagation).
        id_roots = [s for s in lin_subsets if s.parent is None and s.identity]
        use_identity = propagate and len(id_roots) >= 2
        graph = None
        if rows.size >= min_cells_subcluster or (use_identity and rows.size >= 5):
            marker_genes = [g for s in lin_subsets for g in (*s.genes, *s.identity)]
            emb = sub
            if layer is not None:
                emb = sub.copy()
                emb.X = emb.layers[layer]
            labels, graph = _subcluster(
                emb,
                extra_genes=marker_genes,
                resolution=resolution,
                seed=seed,
                n_neighbors=n_neighbors,
                n_top_genes=n_top_genes,
                leiden=rows.size >= min_cells_subcluster,
            )
        if rows.size < min_cells_subcluster:
            labels = np.zeros(rows.size, dtype=int).astype(str)
        cats = sorted(set(labels), key=lambda x: (len(x), x))
        codes = pd.Categorical(labels, categories=cats).codes
        subcluster[rows] = [f"{lin_name}.{x}" for x in labels]
        n_cl = len(cats)

        # Level 1: roots.
        roots = [s.name for s in lin_subsets if s.parent is None]
        r_cols = [list(scores.columns).index(r) for r in roots]
        lv1 = _level(values_all[:, r_cols], codes, n_cl)
        ok1 = (
            (lv1["idx"] >= 0)
            & (lv1["confidence"] >= min_confidence)
            & (lv1["margin"] >= min_margin)
            & (lv1["best"] >= min_score)
        )
        roots_arr = np.array(roots, dtype=object)
        cl_call = np.where(ok1, roots_arr[np.maximum(lv1["idx"], 0)], UNASSIGNED)
        cl_conf = lv1["confidence"].copy()
        cl_root = cl_call.copy()
        cell_ok1 = (
            (lv1["cell_idx"] >= 0)
            & (lv1["cell_margin"] >= min_cell_margin)
            & (lv1["cell_best"] >= min_cell_score)
        )
        c_call = np.where(cell_ok1, roots_arr[np.maximum(lv1["cell_idx"], 0)], UNASSIGNED)
        c_conf = lv1["cell_margin"].copy()
        c_src = np.where(cell_ok1, "markers", "").astype(object)
        if use_identity:
            c_call, c_conf, c_src = _identity_call(
                sub,
                id_roots,
                roots_arr,
                lv1,
                c_call,
                c_conf,
                c_src,
                graph,
                layer=layer,
                quantile=quantile,
                min_identity_margin=min_identity_margin,
                min_cell_margin=min_cell_margin,
                balance=balance_propagation,
                alpha=propagation_alpha,
            )
        child_info = {k: np.full(n_cl, np.nan) for k in ("margin", "agreement", "confidence")}
        child_top = np.full(n_cl, "", dtype=object)

        # Level 2: children of each root.
        for root in roots:
            kids = [s.name for s in markers.children(root)]
            if not kids:
                continue
            k_cols = [list(scores.columns).index(k) for k in kids]
            kids_arr = np.array(kids, dtype=object)
            lv2 = _level(values_all[:, k_cols], codes, n_cl)
            # cluster path: only sub-clusters called `root`
            at_root = cl_call == root
            ok2 = (
                at_root
                & (lv2["idx"] >= 0)
                & (lv2["confidence"] >= min_confidence)
                & (lv2["margin"] >= min_margin)
                & (lv2["best"] >= min_score)
            )
            for key in child_info:
                child_info[key] = np.where(at_root, lv2[key], child_info[key])
            child_top = np.where(
                at_root & (lv2["idx"] >= 0), kids_arr[np.maximum(lv2["idx"], 0)], child_top
            )
            cl_conf = np.where(ok2, np.minimum(cl_conf, lv2["confidence"]), cl_conf)
            cl_call = np.where(ok2, kids_arr[np.maximum(lv2["idx"], 0)], cl_call)
            # cell path: only cells whose own root is `root`
            cell_at_root = c_call == root
            cell_ok2 = (
                cell_at_root
                & (lv2["cell_idx"] >= 0)
                & (lv2["cell_margin"] >= min_cell_margin)
                & (lv2["cell_best"] >= min_cell_score)
            )
            c_conf = np.where(cell_ok2, np.minimum(c_conf, lv2["cell_margin"]), c_conf)
            c_call = np.where(cell_ok2, kids_arr[np.maximum(lv2["cell_idx"], 0)], c_call)

        subset[rows] = cl_call[codes]
        subset_conf[rows] = cl_conf[codes]
        subset_root[rows] = cl_root[codes]
        cell_subset[rows] = c_call
        cell_conf[rows] = c_conf
        cell_source[rows] = c_src

        # Axes of this lineage.
        for axis in (a for a in markers.axes if a.lineage == lin_name):
            ax_scores = gene_set_scores(
                sub,
                {"pos": list(axis.positive), "neg": list(axis.negative)},
                layer=layer,
                quantile=quantile,
                min_markers=min_markers,
                warn=False,
            )
            value = (ax_scores["pos"] - ax_scores["neg"]).to_numpy()
            in_subset = cl_call[codes] == axis.subset
            axes_out[axis.name][rows[in_subset]] = value[in_subset]

        for k, cat in enumerate(cats):
            members = codes == k
            row: dict[str, object] = {
                "lineage": lin_name,
                "subcluster": f"{lin_name}.{cat}",
                "n_cells": int(members.sum()),
                "subset": cl_call[k],
                "confidence": float(cl_conf[k]),
                "root_top": roots_arr[lv1["idx"][k]] if lv1["idx"][k] >= 0 else UNASSIGNED,
                "root_margin": float(lv1["margin"][k]),
                "root_agreement": float(lv1["agreement"][k]),
                "root_confidence": float(lv1["confidence"][k]),
                "child_top": child_top[k] or None,
                "child_margin": float(child_info["margin"][k]),
                "child_agreement": float(child_info["agreement"][k]),
                "child_confidence": float(child_info["confidence"][k]),
            }
            for s in names:
                row[f"score_{s}"] = (
                    float(np.nanmean(score_tab[rows[members], col[s]]))
                    if (np.isfinite(score_tab[rows[members], col[s]]).any())
                    else np.nan
                )
            cluster_rows.append(row)

    cells = pd.DataFrame(
        {
            "lineage": lin,
            "subcluster": subcluster,
            "subset": subset,
            "subset_confidence": np.clip(subset_conf, 0.0, 1.0),
            "subset_root": subset_root,
            "cell_subset": cell_subset,
            "cell_subset_confidence": np.clip(cell_conf, 0.0, 1.0),
            "cell_subset_source": np.where(cell_subset == UNASSIGNED, "", cell_source),
        },
        index=adata.obs_names.copy(),
    )
    for name, values in axes_out.items():
        cells[f"axis_{name}"] = values
    cells[[f"score_{s}" for s in names]] = score_tab
    clusters = pd.DataFrame(cluster_rows)
    meta = {
        "min_confidence": min_confidence,
        "min_margin": min_margin,
        "min_score": min_score,
        "min_cell_margin": min_cell_margin,
        "min_cell_score": min_cell_score,
        "propagate": propagate,
        "min_identity_margin": min_identity_margin,
        "balance_propagation": balance_propagation,
        "propagation_alpha": propagation_alpha,
        "resolution": resolution,
        "seed": seed,
        "markers_used": used_meta,
        "unscored": unscored_meta,
    }
    cells.attrs.update(meta)
    clusters.attrs.update(meta)
    return cells, clusters


def _identity_call(
    sub: ad.AnnData,
    id_roots: list[Subset],
    roots_arr: np.ndarray,
    lv1: dict[str, np.ndarray],
    c_call: np.ndarray,
    c_conf: np.ndarray,
    c_src: np.ndarray,
    graph: sp.csr_matrix | None,
    *,
    layer: str | None,
    quantile: float,
    min_identity_margin: float,
    min_cell_margin: float,
    balance: bool,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell call between identity roots: identity-gene seeds, then label spreading."""
    names = [s.name for s in id_roots]
    id_scores = gene_set_scores(
        sub,
        {s.name: list(s.identity) for s in id_roots},
        layer=layer,
        quantile=quantile,
        min_markers=1,
        warn=False,
    ).to_numpy()
    if not np.isfinite(id_scores).all(axis=0).all():
        return c_call, c_conf, c_src  # an identity set has no detected gene: no evidence
    # cells the step applies to: called (or best-scoring) as one of the identity roots
    best_root = np.where(lv1["cell_idx"] >= 0, roots_arr[np.maximum(lv1["cell_idx"], 0)], "")
    eligible = np.isin(c_call, names) | ((c_call == UNASSIGNED) & np.isin(best_root, names))
    order = np.argsort(-id_scores, axis=1, kind="stable")
    top = np.take_along_axis(id_scores, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(id_scores, order[:, 1:2], axis=1)[:, 0]
    margin = _relative_margin(top, second)
    margin = np.where(top > 0, np.nan_to_num(margin), 0.0)
    seed = eligible & (top > 0) & (margin >= min_identity_margin)
    seed_label = np.where(seed, order[:, 0], -1)
    out_call = c_call.copy()
    out_conf = c_conf.copy()
    out_src = c_src.copy()
    names_arr = np.array(names, dtype=object)
    out_call[seed] = names_arr[seed_label[seed]]
    out_conf[seed] = margin[seed]
    out_src[seed] = "identity"
    rest = eligible & ~seed
    if graph is None or not seed.any():
        out_call[rest] = UNASSIGNED
        out_conf[rest] = 0.0
        out_src[rest] = ""
        return out_call, out_conf, out_src
    lab, _ = _spread(graph, seed_label, len(names), alpha=alpha, balance=balance)
    lab = np.where(eligible, lab, -1)
    agreement = _neighbour_agreement(graph, lab, len(names))
    ok = eligible & (lab >= 0) & (agreement >= min_cell_margin)
    out_call[eligible] = UNASSIGNED
    out_conf[eligible] = 0.0
    out_src[eligible] = ""
    out_call[ok] = names_arr[lab[ok]]
    out_conf[ok] = agreement[ok]
    out_src[ok & seed & (lab == seed_label)] = "identity"
    out_src[ok & seed & (lab != seed_label)] = "identity_overridden"
    out_src[ok & ~seed] = "propagated"
    return out_call, out_conf, out_src


def merge_malignant(
    subsets: pd.DataFrame,
    cnv_calls: pd.DataFrame,
    *,
    column: str = "subset",
) -> pd.Series:
    """Final subset label: marker subsets with malignant cells taken from copy number.

    Parameters
    ----------
    subsets
        ``cells`` output of :func:`annotate_subsets`.
    cnv_calls
        Output of :func:`tmesig.cnv.call_malignant` (column ``cnv_call``), same index.
    column
        Which subset column to start from (``subset`` or ``cell_subset``).

    Returns
    -------
    pandas.Series
        Named ``final_subset``: ``malignant`` where ``cnv_call == "malignant"`` (this wins
        over a normal-epithelium marker call: lung adenocarcinoma keeps alveolar genes);
        ``other_normal_epithelium`` for epithelial cells that are CNV ``non-malignant``
        without a marker subset; otherwise the marker subset.
    """
    if column not in subsets.columns:
        msg = f"Column {column!r} not in the subsets table; use 'subset' or 'cell_subset'."
        raise ValueError(msg)
    if "cnv_call" not in cnv_calls.columns:
        msg = "cnv_calls has no 'cnv_call' column; pass the output of tmesig.cnv.call_malignant."
        raise ValueError(msg)
    call = cnv_calls["cnv_call"].reindex(subsets.index)
    out = subsets[column].astype(object).copy()
    epi_plain = (
        (subsets["lineage"] == "epithelial") & (out == UNASSIGNED) & (call == "non-malignant")
    )
    out[epi_plain] = OTHER_NORMAL_EPITHELIUM
    out[call == MALIGNANT] = MALIGNANT
    out.name = "final_subset"
    return out
