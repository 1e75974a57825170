"""Marker-based annotation of tumour-microenvironment (TME) compartments.

Every cell and every cluster receives one lineage-level compartment from
:data:`COMPARTMENTS` (or :data:`UNASSIGNED`) together with a confidence in ``[0, 1]``.
Ambiguous clusters are left ``unassigned`` instead of being guessed.

Scoring
-------
For each marker gene ``g`` present (and detected) in the data, expression ``x`` (by default
``adata.X``, expected to be ``log1p`` of library-size-normalised counts) is scaled to
``[0, 1]`` by

    ``s_g(cell) = min(x_g(cell) / q_g, 1)``

where ``q_g`` is the ``quantile`` (default 0.9) of the gene's *non-zero* values across all
cells, i.e. the level at which an expressing cell expresses the gene. Because ``q_g``
is computed among expressing cells only, it does not depend on how abundant the
compartment is, so scores of rare and abundant compartments are on the same scale. The
compartment score of a cell is the mean of ``s_g`` over the compartment's markers that are
present: ``0`` = no marker expressed, ``1`` = all markers at a typical expressing level.
Compartments with fewer than ``min_markers`` markers present get ``NaN``.

Calls and confidence
--------------------
*Cell level*: ``cell_compartment`` is the compartment with the highest score (``unassigned``
if every score is 0 or NaN); ``cell_confidence = (best - second) / best`` (relative margin).

*Cluster level*: ``S_k`` is the mean score of compartment ``k`` over the cluster's cells;
``top`` / ``second`` are the compartments with the highest / second-highest ``S_k``.

* ``margin = (S_top - S_second) / S_top`` (relative margin, in ``[0, 1]``);
* ``agreement`` = fraction of the cluster's cells whose ``cell_compartment == top``;
* ``confidence = sqrt(agreement * margin)`` (geometric mean of the two, in ``[0, 1]``).

Confidence is thus high only when the cluster's cells individually agree with the cluster
call *and* the cluster's mean profile clearly separates the best compartment from the
runner-up (a doublet-like mixture of two lineages has a margin near 0; a cluster expressing
no markers has near-random per-cell calls). A cluster is ``unassigned`` when
``confidence < min_confidence``, ``margin < min_margin`` or ``S_top < min_score``; its cells
then carry ``compartment = unassigned`` (their own ``cell_compartment`` is kept). All
computations are deterministic; ties are broken by the order of :data:`COMPARTMENTS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from tmesig import paths

if TYPE_CHECKING:
    import anndata as ad

__all__ = [
    "COMPARTMENTS",
    "UNASSIGNED",
    "annotate",
    "gene_set_scores",
    "load_markers",
    "marker_scores",
]

#: Lineage-level TME compartments, in tie-breaking order.
COMPARTMENTS: tuple[str, ...] = (
    "T_NK",
    "B_plasma",
    "myeloid",
    "mast",
    "neutrophil",
    "fibroblast",
    "endothelial",
    "epithelial",
)
#: Label for cells / clusters without a confident compartment.
UNASSIGNED = "unassigned"

#: Default marker file.
DEFAULT_MARKERS = paths.MARKERS_DIR / "compartments.yaml"


# --------------------------------------------------------------------------------------
# Marker file
# --------------------------------------------------------------------------------------
def load_markers(path: str | Path | None = None) -> dict[str, list[str]]:
    """Load and validate compartment marker genes from a YAML file.

    Parameters
    ----------
    path
        YAML file with a top-level ``compartments:`` mapping of compartment name to either
        ``{genes: [...], source: "..."}`` or a plain list of genes. Defaults to
        ``resources/markers/compartments.yaml`` (:data:`DEFAULT_MARKERS`).

    Returns
    -------
    dict[str, list[str]]
        Compartment -> marker genes (order preserved, duplicates within a compartment
        removed), in the order of :data:`COMPARTMENTS`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is malformed, names an unknown compartment, has an empty gene list or
        lists one gene under two compartments. The message names the file.
    """
    path = Path(DEFAULT_MARKERS if path is None else path)
    if not path.is_file():
        msg = f"Marker file {path} does not exist; pass an existing YAML file to load_markers."
        raise FileNotFoundError(msg)
    with path.open() as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            msg = f"Marker file {path} is not valid YAML ({exc}); fix the syntax."
            raise ValueError(msg) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("compartments"), Mapping):
        msg = (
            f"Marker file {path} has no top-level 'compartments:' mapping; add one mapping "
            "each compartment name to a 'genes:' list."
        )
        raise ValueError(msg)

    markers: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for name, entry in data["compartments"].items():
        if name not in COMPARTMENTS:
            msg = (
                f"Marker file {path}: unknown compartment {name!r}; use one of "
                f"{', '.join(COMPARTMENTS)}."
            )
            raise ValueError(msg)
        genes = entry.get("genes") if isinstance(entry, Mapping) else entry
        if (
            not isinstance(genes, Sequence)
            or isinstance(genes, str)
            or len(genes) == 0
            or not all(isinstance(g, str) and g.strip() for g in genes)
        ):
            msg = (
                f"Marker file {path}: compartment {name!r} needs a non-empty list of gene "
                "symbols under 'genes:'."
            )
            raise ValueError(msg)
        clean = list(dict.fromkeys(g.strip() for g in genes))
        for gene in clean:
            if gene in owner:
                msg = (
                    f"Marker file {path}: gene {gene!r} is listed under both "
                    f"{owner[gene]!r} and {name!r}; keep it in one compartment only."
                )
                raise ValueError(msg)
            owner[gene] = name
        markers[name] = clean
    if not markers:
        msg = f"Marker file {path} defines no compartments; add at least one."
        raise ValueError(msg)
    return {c: markers[c] for c in COMPARTMENTS if c in markers}


# --------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------
def _check_markers(markers: Mapping[str, Sequence[str]]) -> None:
    unknown = [c for c in markers if c not in COMPARTMENTS]
    if unknown:
        msg = f"Unknown compartment(s) {unknown}; use names from tmesig.annotate.COMPARTMENTS."
        raise ValueError(msg)
    if not markers:
        msg = "No marker compartments given; pass the output of load_markers()."
        raise ValueError(msg)


def marker_scores(
    adata: ad.AnnData,
    markers: Mapping[str, Sequence[str]],
    *,
    layer: str | None = None,
    quantile: float = 0.9,
    min_markers: int = 2,
) -> pd.DataFrame:
    """Per-cell, cross-compartment-comparable marker scores.

    Parameters
    ----------
    adata
        Cells x genes. ``var_names`` must be unique gene symbols.
    markers
        Compartment -> marker genes (see :func:`load_markers`).
    layer
        Layer holding non-negative log-normalised expression; ``None`` uses ``adata.X``.
    quantile
        Quantile of each gene's non-zero values used as its "expressing" level ``q_g``.
    min_markers
        Compartments with fewer present (detected) markers are scored ``NaN``.

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``, one float column per compartment (in :data:`COMPARTMENTS`
        order), values in ``[0, 1]`` or ``NaN``. ``.attrs`` holds ``markers_used``
        (compartment -> genes used), ``markers_missing`` (compartment -> genes absent from
        ``var_names`` or never detected) and ``unscored`` (compartments set to ``NaN``).

    Warns
    -----
    UserWarning
        If any compartment has fewer than ``min_markers`` markers present.

    Notes
    -----
    Only the marker columns are extracted (kept sparse); the full matrix is never
    densified. See the module docstring for the scoring formula.
    """
    _check_markers(markers)
    ordered = {c: list(markers[c]) for c in COMPARTMENTS if c in markers}
    out = gene_set_scores(
        adata, ordered, layer=layer, quantile=quantile, min_markers=min_markers, warn=False
    )
    unscored = out.attrs["unscored"]
    if unscored:
        used = out.attrs["markers_used"]
        detail = "; ".join(
            f"{c}: {len(used[c])} present ({', '.join(used[c]) or '-'})" for c in unscored
        )
        warnings.warn(
            f"Compartment(s) {unscored} have fewer than {min_markers} marker genes present "
            f"in the data and are scored NaN ({detail}); add markers present in the data "
            "if these compartments matter.",
            UserWarning,
            stacklevel=2,
        )
    return out


def _expression_matrix(adata: ad.AnnData, layer: str | None):
    """Return ``adata.X`` or ``adata.layers[layer]`` with a helpful error if absent."""
    if layer is None:
        matrix = adata.X
    elif layer in adata.layers:
        matrix = adata.layers[layer]
    else:
        msg = (
            f"Layer {layer!r} not in adata.layers ({list(adata.layers)}); pass layer=None to use X."
        )
        raise ValueError(msg)
    if matrix is None:
        msg = "adata.X is empty; pass layer= naming a log-normalised expression layer."
        raise ValueError(msg)
    return matrix


def gene_set_scores(
    adata: ad.AnnData,
    gene_sets: Mapping[str, Sequence[str]],
    *,
    layer: str | None = None,
    quantile: float = 0.9,
    min_markers: int = 2,
    negative: Mapping[str, Sequence[str]] | None = None,
    min_fraction: float = 0.0,
    warn: bool = True,
) -> pd.DataFrame:
    """Per-cell ``[0, 1]`` scores for arbitrary named gene sets (no vocabulary check).

    The scoring of :func:`marker_scores` (see the module docstring) for any set names:
    each gene is scaled by the ``quantile`` of its non-zero values *in the cells of
    ``adata``* (pass a subset AnnData to scale within a lineage), and a set's score is the
    mean over its present genes. With ``negative``, a set's score is multiplied by
    ``1 - n`` where ``n`` is the same kind of score over its negative genes (genes the
    cell type should not express; absent negative genes are ignored).

    Parameters
    ----------
    adata
        Cells x genes, unique gene symbols as ``var_names``.
    gene_sets
        Set name -> genes (output columns follow this order).
    layer
        Layer with non-negative log-normalised expression; ``None`` uses ``X``.
    quantile
        Quantile of each gene's non-zero values used as its expressing level.
    min_markers
        Sets with fewer present (detected) genes are ``NaN``.
    negative
        Optional set name -> genes that the set should not express.
    min_fraction
        Sets with fewer than this fraction of their genes present (detected) are also
        ``NaN`` (a set scored from a few generic leftovers is not evidence).
    warn
        Warn (``UserWarning``) when a set is unscored.

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``, one float column per set. ``.attrs``: ``markers_used``,
        ``markers_missing``, ``unscored``.
    """
    if not 0.0 < quantile <= 1.0:
        msg = f"quantile must be in (0, 1], got {quantile}; use e.g. 0.9."
        raise ValueError(msg)
    if min_markers < 1:
        msg = f"min_markers must be >= 1, got {min_markers}."
        raise ValueError(msg)
    if not adata.var_names.is_unique:
        msg = "adata.var_names are not unique; call adata.var_names_make_unique() first."
        raise ValueError(msg)
    matrix = _expression_matrix(adata, layer)
    negative = dict(negative or {})

    var_index = pd.Index(adata.var_names)
    ordered = list(gene_sets)
    all_genes = [g for c in ordered for g in gene_sets[c]]
    all_genes += [g for c in ordered for g in negative.get(c, ())]
    wanted = list(dict.fromkeys(g for g in all_genes if g in var_index))
    cols = var_index.get_indexer(wanted)
    sub = matrix[:, cols] if len(cols) else np.zeros((adata.n_obs, 0))
    sub = sp.csc_matrix(sub, dtype=np.float64)
    sub.eliminate_zeros()
    if sub.nnz and sub.data.min() < 0:
        msg = (
            "Expression contains negative values (scaled data?); pass a layer with "
            "non-negative log-normalised expression (log1p of normalize_total)."
        )
        raise ValueError(msg)

    # Per-gene scaling to [0, 1] by the quantile of the gene's non-zero values.
    scale = np.full(len(wanted), np.nan)
    for j in range(len(wanted)):
        vals = sub.data[sub.indptr[j] : sub.indptr[j + 1]]
        if vals.size:
            scale[j] = np.quantile(vals, quantile)
    detected = np.isfinite(scale) & (scale > 0)
    col_of_nnz = np.repeat(np.arange(len(wanted)), np.diff(sub.indptr))
    safe_scale = np.where(detected, scale, 1.0)
    sub.data = np.minimum(sub.data / safe_scale[col_of_nnz], 1.0)
    sub = sub.tocsr()

    pos = {g: j for j, g in enumerate(wanted)}

    def _mean(genes: Sequence[str]) -> tuple[np.ndarray | None, list[str]]:
        present = [g for g in dict.fromkeys(genes) if g in pos and detected[pos[g]]]
        if not present:
            return None, present
        idx = [pos[g] for g in present]
        return np.asarray(sub[:, idx].sum(axis=1)).ravel() / len(idx), present

    scores = np.full((adata.n_obs, len(ordered)), np.nan)
    used: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    unscored: list[str] = []
    for k, name in enumerate(ordered):
        genes = list(dict.fromkeys(gene_sets[name]))
        values, present = _mean(genes)
        used[name] = present
        missing[name] = [g for g in genes if g not in present]
        if values is None or len(present) < min_markers or len(present) < min_fraction * len(genes):
            unscored.append(name)
            continue
        neg_values, _ = _mean(negative.get(name, ()))
        if neg_values is not None:
            values = values * (1.0 - neg_values)
        scores[:, k] = values

    if unscored and warn:
        detail = "; ".join(
            f"{c}: {len(used[c])} present ({', '.join(used[c]) or '-'})" for c in unscored
        )
        warnings.warn(
            f"Gene set(s) {unscored} have fewer than {min_markers} genes present "
            f"in the data and are scored NaN ({detail}); add genes present in the data "
            "if these sets matter.",
            UserWarning,
            stacklevel=2,
        )
    out = pd.DataFrame(scores, index=adata.obs_names.copy(), columns=ordered)
    out.attrs["markers_used"] = used
    out.attrs["markers_missing"] = missing
    out.attrs["unscored"] = unscored
    return out


# --------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------
def _best_two(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise index and value of the best and second-best finite entries.

    NaN columns are ignored; ties resolve to the earlier column (stable sort).
    Returns ``(best_idx, best_val, second_idx, second_val)``; missing entries are -1 / 0.
    """
    filled = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-filled, axis=1, kind="stable")
    rows = np.arange(values.shape[0])
    n = values.shape[1]
    best_idx = order[:, 0] if n else np.full(len(rows), -1)
    second_idx = order[:, 1] if n > 1 else np.full(len(rows), -1)
    best_val = filled[rows, best_idx] if n else np.zeros(len(rows))
    second_val = filled[rows, second_idx] if n > 1 else np.zeros(len(rows))
    best_idx = np.where(np.isfinite(best_val), best_idx, -1)
    second_idx = np.where(np.isfinite(second_val), second_idx, -1)
    best_val = np.where(np.isfinite(best_val), best_val, 0.0)
    second_val = np.where(np.isfinite(second_val), second_val, 0.0)
    return best_idx, best_val, second_idx, second_val


def _relative_margin(best: np.ndarray, second: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(best > 0, (best - np.maximum(second, 0.0)) / best, 0.0)
    return np.clip(margin, 0.0, 1.0)


def annotate(
    adata: ad.AnnData,
    markers: Mapping[str, Sequence[str]],
    *,
    cluster_key: str = "leiden",
    min_confidence: float = 0.5,
    min_margin: float = 0.3,
    min_score: float = 0.05,
    layer: str | None = None,
    quantile: float = 0.9,
    min_markers: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign a TME compartment and a confidence to every cluster and cell.

    Parameters
    ----------
    adata
        Cells x genes with log-normalised expression in ``X`` (or ``layer``) and cluster
        labels in ``obs[cluster_key]``.
    markers
        Compartment -> marker genes (see :func:`load_markers`).
    cluster_key
        ``obs`` column with cluster labels.
    min_confidence
        Clusters with ``confidence`` (``sqrt(agreement * margin)``) below this are
        unassigned.
    min_margin
        Clusters with relative margin ``(S_top - S_second) / S_top`` below this are
        unassigned.
    min_score
        Clusters whose best mean compartment score ``S_top`` is below this (no marker
        expressed) are unassigned.
    layer, quantile, min_markers
        Passed to :func:`marker_scores`.

    Returns
    -------
    cells : pandas.DataFrame
        Index ``obs_names``; columns ``cluster``, ``compartment`` (the cluster's call),
        ``confidence`` (the cluster's confidence), ``cell_compartment`` (the cell's own best
        compartment), ``cell_confidence`` (the cell's relative margin) and
        ``score_<compartment>`` per compartment.
    clusters : pandas.DataFrame
        One row per cluster (category order if categorical, else sorted): ``cluster``,
        ``n_cells``, ``compartment``, ``confidence``, ``top``, ``second``, ``margin``,
        ``agreement`` and ``score_<compartment>`` (mean score of the cluster's cells).
        ``.attrs`` carries the ``marker_scores`` metadata and the thresholds used.

    Notes
    -----
    Definitions (see module docstring): ``margin = (S_top - S_second) / S_top`` on the
    cluster-mean scores; ``agreement`` = fraction of the cluster's cells whose own best
    compartment is ``top``; ``confidence = sqrt(agreement * margin)``. A cluster is
    ``unassigned`` if ``confidence < min_confidence`` or ``margin < min_margin`` or
    ``S_top < min_score``.
    """
    for name, value in (
        ("min_confidence", min_confidence),
        ("min_margin", min_margin),
        ("min_score", min_score),
    ):
        if not 0.0 <= value <= 1.0:
            msg = f"{name} must be in [0, 1], got {value}."
            raise ValueError(msg)
    if cluster_key not in adata.obs:
        msg = (
            f"obs[{cluster_key!r}] not found (obs columns: {list(adata.obs.columns)}); "
            "run clustering first or pass cluster_key= naming the cluster column."
        )
        raise ValueError(msg)
    labels = adata.obs[cluster_key]
    if labels.isna().any():
        msg = f"obs[{cluster_key!r}] has missing cluster labels; assign every cell a cluster."
        raise ValueError(msg)

    scores = marker_scores(adata, markers, layer=layer, quantile=quantile, min_markers=min_markers)
    comps = np.array(list(scores.columns), dtype=object)
    values = scores.to_numpy()

    # Cell level.
    c_idx, c_best, _, c_second = _best_two(values)
    cell_ok = (c_idx >= 0) & (c_best > 0)
    cell_comp = np.where(cell_ok, comps[np.maximum(c_idx, 0)], UNASSIGNED)
    cell_conf = np.where(cell_ok, _relative_margin(c_best, c_second), 0.0)

    # Cluster level.
    if isinstance(labels.dtype, pd.CategoricalDtype):
        categories = [c for c in labels.cat.categories if (labels == c).any()]
    else:
        categories = sorted(labels.unique(), key=lambda x: (str(type(x)), x))
    codes = pd.Categorical(labels, categories=categories).codes
    n_clusters = len(categories)
    n_cells = np.bincount(codes, minlength=n_clusters)
    finite = np.where(np.isfinite(values), values, 0.0)
    indicator = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_clusters, len(codes))
    )
    sums = np.asarray(indicator @ finite)
    means = sums / n_cells[:, None]
    means[:, ~np.isfinite(values).any(axis=0)] = np.nan  # unscored compartments stay NaN
    k_idx, k_best, s_idx, k_second = _best_two(means)
    top = np.where((k_idx >= 0) & (k_best > 0), comps[np.maximum(k_idx, 0)], UNASSIGNED)
    second = np.where((s_idx >= 0) & (k_second > 0), comps[np.maximum(s_idx, 0)], UNASSIGNED)
    margin = _relative_margin(k_best, k_second)
    agrees = (cell_comp == top[codes]).astype(float)
    agree = np.bincount(codes, weights=agrees, minlength=n_clusters)
    agreement = agree / n_cells
    confidence = np.sqrt(agreement * margin)
    ok = (
        (top != UNASSIGNED)
        & (confidence >= min_confidence)
        & (margin >= min_margin)
        & (k_best >= min_score)
    )
    call = np.where(ok, top, UNASSIGNED)

    score_cols = [f"score_{c}" for c in comps]
    clusters = pd.DataFrame(
        {
            "cluster": pd.Series(categories, dtype=object),
            "n_cells": n_cells,
            "compartment": call,
            "confidence": confidence,
            "top": top,
            "second": second,
            "margin": margin,
            "agreement": agreement,
        }
    )
    clusters[score_cols] = means
    clusters.attrs.update(scores.attrs)
    clusters.attrs.update(
        {"min_confidence": min_confidence, "min_margin": min_margin, "min_score": min_score}
    )

    cells = pd.DataFrame(
        {
            "cluster": labels.to_numpy(),
            "compartment": call[codes],
            "confidence": confidence[codes],
            "cell_compartment": cell_comp,
            "cell_confidence": cell_conf,
        },
        index=adata.obs_names.copy(),
    )
    cells[score_cols] = values
    cells.attrs.update(scores.attrs)
    return cells, clusters
