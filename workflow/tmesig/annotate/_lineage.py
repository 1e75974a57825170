"""Lineage calls per cell and per cluster, with confidence (see :mod:`tmesig.annotate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.constants import UNASSIGNED
from tmesig.margins import best_two, relative_margin

from ._scores import marker_scores

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["AnnotateOptions", "annotate"]


@dataclass(frozen=True)
class AnnotateOptions:
    """Thresholds and scoring options of :func:`annotate`.

    Attributes
    ----------
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
        Passed to :func:`tmesig.annotate.marker_scores`.

    Raises
    ------
    ValueError
        If a threshold is outside ``[0, 1]``.
    """

    min_confidence: float = 0.5
    min_margin: float = 0.3
    min_score: float = 0.05
    layer: str | None = None
    quantile: float = 0.9
    min_markers: int = 2

    def __post_init__(self) -> None:
        for name in ("min_confidence", "min_margin", "min_score"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                msg = f"{name} must be in [0, 1], got {value}."
                raise ValueError(msg)


def annotate(
    adata: ad.AnnData,
    markers: Mapping[str, Sequence[str]],
    *,
    cluster_key: str = "leiden",
    options: AnnotateOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assign a TME compartment and a confidence to every cluster and cell.

    Parameters
    ----------
    adata
        Cells x genes with log-normalised expression in ``X`` (or ``options.layer``) and
        cluster labels in ``obs[cluster_key]``.
    markers
        Compartment -> marker genes (see :func:`tmesig.annotate.load_markers`).
    cluster_key
        ``obs`` column with cluster labels.
    options
        Thresholds and scoring options (default :class:`AnnotateOptions()`).

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
    Definitions (see :mod:`tmesig.annotate`): ``margin = (S_top - S_second) / S_top`` on
    the cluster-mean scores; ``agreement`` = fraction of the cluster's cells whose own best
    compartment is ``top``; ``confidence = sqrt(agreement * margin)``. A cluster is
    ``unassigned`` if ``confidence < min_confidence`` or ``margin < min_margin`` or
    ``S_top < min_score``.
    """
    opts = AnnotateOptions() if options is None else options
    labels = _cluster_labels(adata, cluster_key)
    scores = marker_scores(
        adata, markers, layer=opts.layer, quantile=opts.quantile, min_markers=opts.min_markers
    )
    comps = np.array(list(scores.columns), dtype=object)
    values = scores.to_numpy()
    cell_comp, cell_conf = _cell_calls(values, comps)
    categories, codes = _cluster_codes(labels)
    calls = _cluster_calls(values, codes, len(categories), comps, cell_comp, opts)

    score_cols = [f"score_{c}" for c in comps]
    clusters = _clusters_table(categories, calls, score_cols)
    clusters.attrs.update(scores.attrs)
    clusters.attrs.update(
        {
            "min_confidence": opts.min_confidence,
            "min_margin": opts.min_margin,
            "min_score": opts.min_score,
        }
    )
    cells = pd.DataFrame(
        {
            "cluster": labels.to_numpy(),
            "compartment": calls["call"][codes],
            "confidence": calls["confidence"][codes],
            "cell_compartment": cell_comp,
            "cell_confidence": cell_conf,
        },
        index=adata.obs_names.copy(),
    )
    cells[score_cols] = values
    cells.attrs.update(scores.attrs)
    return cells, clusters


def _clusters_table(
    categories: list, calls: dict[str, np.ndarray], score_cols: list[str]
) -> pd.DataFrame:
    """One row per cluster: call, confidence, top / second, margin, agreement, mean scores."""
    clusters = pd.DataFrame(
        {
            "cluster": pd.Series(categories, dtype=object),
            "n_cells": calls["n_cells"],
            "compartment": calls["call"],
            "confidence": calls["confidence"],
            "top": calls["top"],
            "second": calls["second"],
            "margin": calls["margin"],
            "agreement": calls["agreement"],
        }
    )
    clusters[score_cols] = calls["means"]
    return clusters


def _cluster_labels(adata: ad.AnnData, cluster_key: str) -> pd.Series:
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
    return labels


def _cell_calls(values: np.ndarray, comps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's best compartment (``unassigned`` if no positive score) and its margin."""
    c_idx, c_best, _, c_second = best_two(values)
    cell_ok = (c_idx >= 0) & (c_best > 0)
    cell_comp = np.where(cell_ok, comps[np.maximum(c_idx, 0)], UNASSIGNED)
    cell_conf = np.where(cell_ok, relative_margin(c_best, c_second), 0.0)
    return cell_comp, cell_conf


def _cluster_codes(labels: pd.Series) -> tuple[list, np.ndarray]:
    """Clusters (category order if categorical, else sorted) and each cell's cluster code."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        categories = [c for c in labels.cat.categories if (labels == c).any()]
    else:
        categories = sorted(labels.unique(), key=lambda x: (str(type(x)), x))
    return categories, pd.Categorical(labels, categories=categories).codes


def _cluster_calls(
    values: np.ndarray,
    codes: np.ndarray,
    n_clusters: int,
    comps: np.ndarray,
    cell_comp: np.ndarray,
    opts: AnnotateOptions,
) -> dict[str, np.ndarray]:
    """Cluster-mean scores, top / second, margin, agreement, confidence and call."""
    n_cells = np.bincount(codes, minlength=n_clusters)
    finite = np.where(np.isfinite(values), values, 0.0)
    indicator = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_clusters, len(codes))
    )
    sums = np.asarray(indicator @ finite)
    means = sums / n_cells[:, None]
    means[:, ~np.isfinite(values).any(axis=0)] = np.nan  # unscored compartments stay NaN
    k_idx, k_best, s_idx, k_second = best_two(means)
    top = np.where((k_idx >= 0) & (k_best > 0), comps[np.maximum(k_idx, 0)], UNASSIGNED)
    second = np.where((s_idx >= 0) & (k_second > 0), comps[np.maximum(s_idx, 0)], UNASSIGNED)
    margin = relative_margin(k_best, k_second)
    agrees = (cell_comp == top[codes]).astype(float)
    agree = np.bincount(codes, weights=agrees, minlength=n_clusters)
    agreement = agree / n_cells
    confidence = np.sqrt(agreement * margin)
    ok = (
        (top != UNASSIGNED)
        & (confidence >= opts.min_confidence)
        & (margin >= opts.min_margin)
        & (k_best >= opts.min_score)
    )
    return {
        "n_cells": n_cells,
        "means": means,
        "top": top,
        "second": second,
        "margin": margin,
        "agreement": agreement,
        "confidence": confidence,
        "call": np.where(ok, top, UNASSIGNED),
    }
