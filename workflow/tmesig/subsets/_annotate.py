"""Subset calls inside each lineage, per sub-cluster and per cell (:func:`annotate_subsets`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmesig.annotate import gene_set_scores
from tmesig.constants import LINEAGES, UNASSIGNED
from tmesig.io.kept_cells import read_rows

from ._from_file import Prefetched, prefetch_lineages
from ._identity import identity_call
from ._levels import LineageCalls, child_calls, root_calls
from ._markers import SubsetMarkers, load_subset_markers
from ._options import SubsetOptions
from ._subcluster import subclusters

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["annotate_subsets"]


def annotate_subsets(
    adata: ad.AnnData,
    lineage: pd.Series | Sequence[str],
    *,
    markers: SubsetMarkers | None = None,
    options: SubsetOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Call subsets inside each lineage, per sub-cluster and per cell, with confidence.

    Parameters
    ----------
    adata
        Cells x genes with log-normalised expression in ``X`` (or ``options.layer``);
        unique gene symbols. Or a backed ``clustered.h5ad``
        (:func:`tmesig.io.expression.read_expression` with ``backed=True``): each lineage's
        cells are then read (and log-normalised) one lineage at a time.
    lineage
        Lineage label per cell (e.g. ``cells["compartment"]`` from
        :func:`tmesig.annotate.annotate`, or author labels mapped with
        :func:`tmesig.celltypist_bridge.labels_from_column`); aligned to ``obs_names``
        when a Series. Cells whose lineage has no subsets (or is ``unassigned``) get
        ``unassigned``.
    markers
        Parsed subset markers; default :func:`tmesig.subsets.load_subset_markers`.
    options
        Sub-clustering, threshold and propagation options (default
        :class:`SubsetOptions()`).

    Returns
    -------
    cells : pandas.DataFrame
        Index ``obs_names``; columns ``lineage``, ``subcluster``, ``subset`` (cluster-level
        call), ``subset_confidence``, ``subset_root`` (level-1 call), ``cell_subset``,
        ``cell_subset_confidence``, ``cell_subset_source`` (how the per-cell root call was
        made: ``markers``, ``identity``, ``identity_overridden``, ``propagated``; empty
        when ``unassigned``), ``axis_<name>`` per axis and ``score_<subset>`` per subset
        (``NaN`` outside the subset's lineage).
    clusters : pandas.DataFrame
        One row per sub-cluster: ``lineage``, ``subcluster``, ``n_cells``, ``subset``,
        ``confidence``, ``root_top``, ``root_margin``, ``root_agreement``,
        ``root_confidence``, ``child_top``, ``child_margin``, ``child_agreement``,
        ``child_confidence`` and mean ``score_<subset>``. ``.attrs`` holds the thresholds
        and per-lineage ``markers_used`` / ``unscored``.
    """
    markers = load_subset_markers() if markers is None else markers
    opts = SubsetOptions() if options is None else options
    lin = _lineage_labels(adata, lineage)
    acc = _Accumulator(adata.n_obs, markers)
    todo = {n: np.flatnonzero(lin == n) for n in LINEAGES if markers.of_lineage(n)}
    todo = {n: rows for n, rows in todo.items() if rows.size}
    ahead = {}
    if adata.isbacked:  # one pass for the sketched lineages and the first small ones
        ahead = prefetch_lineages(adata, todo, markers=markers, options=opts)
    for lin_name, rows in todo.items():
        _annotate_lineage(adata, lin_name, rows, markers, opts, acc, ahead.pop(lin_name, None))
    return acc.tables(adata, lin, opts)


def _lineage_labels(adata: ad.AnnData, lineage: pd.Series | Sequence[str]) -> np.ndarray:
    if isinstance(lineage, pd.Series):
        if not lineage.index.equals(adata.obs_names):
            if not adata.obs_names.isin(lineage.index).all():
                msg = (
                    "lineage Series index does not cover adata.obs_names; pass one label per cell."
                )
                raise ValueError(msg)
            lineage = lineage.reindex(adata.obs_names)
        return lineage.astype(object).fillna(UNASSIGNED).astype(str).to_numpy()
    lin = np.asarray(lineage, dtype=object).astype(str)
    if len(lin) != adata.n_obs:
        msg = f"lineage has {len(lin)} labels for {adata.n_obs} cells; pass one per cell."
        raise ValueError(msg)
    return lin


class _Accumulator:
    """The per-cell columns and per-sub-cluster rows, filled lineage by lineage."""

    def __init__(self, n: int, markers: SubsetMarkers) -> None:
        self.names = markers.names
        self.col = {s: j for j, s in enumerate(self.names)}
        self.score_tab = np.full((n, len(self.names)), np.nan)
        self.subcluster = np.full(n, UNASSIGNED, dtype=object)
        self.subset = np.full(n, UNASSIGNED, dtype=object)
        self.subset_conf = np.zeros(n)
        self.subset_root = np.full(n, UNASSIGNED, dtype=object)
        self.cell_subset = np.full(n, UNASSIGNED, dtype=object)
        self.cell_conf = np.zeros(n)
        self.cell_source = np.full(n, "", dtype=object)
        self.axes = {a.name: np.full(n, np.nan) for a in markers.axes}
        self.cluster_rows: list[dict[str, object]] = []
        self.used_meta: dict[str, dict[str, list[str]]] = {}
        self.unscored_meta: dict[str, list[str]] = {}

    def record(self, rows: np.ndarray, codes: np.ndarray, calls: LineageCalls) -> None:
        """Store one lineage's final calls for its cells."""
        self.subset[rows] = calls.cl_call[codes]
        self.subset_conf[rows] = calls.cl_conf[codes]
        self.subset_root[rows] = calls.cl_root[codes]
        self.cell_subset[rows] = calls.c_call
        self.cell_conf[rows] = calls.c_conf
        self.cell_source[rows] = calls.c_src

    def add_cluster_rows(
        self, lin_name: str, cats: list[str], codes: np.ndarray, rows: np.ndarray, calls
    ) -> None:
        """One row per sub-cluster of a lineage: calls, level statistics, mean scores."""
        lv1, roots_arr, info = calls.lv1, calls.roots, calls.child_info
        for k, cat in enumerate(cats):
            members = codes == k
            row: dict[str, object] = {
                "lineage": lin_name,
                "subcluster": f"{lin_name}.{cat}",
                "n_cells": int(members.sum()),
                "subset": calls.cl_call[k],
                "confidence": float(calls.cl_conf[k]),
                "root_top": roots_arr[lv1["idx"][k]] if lv1["idx"][k] >= 0 else UNASSIGNED,
                "root_margin": float(lv1["margin"][k]),
                "root_agreement": float(lv1["agreement"][k]),
                "root_confidence": float(lv1["confidence"][k]),
                "child_top": calls.child_top[k] or None,
                "child_margin": float(info["margin"][k]),
                "child_agreement": float(info["agreement"][k]),
                "child_confidence": float(info["confidence"][k]),
            }
            for s in self.names:
                member_scores = self.score_tab[rows[members], self.col[s]]
                row[f"score_{s}"] = (
                    float(np.nanmean(member_scores))
                    if (np.isfinite(member_scores).any())
                    else np.nan
                )
            self.cluster_rows.append(row)

    def tables(
        self, adata: ad.AnnData, lin: np.ndarray, opts: SubsetOptions
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The ``cells`` and ``clusters`` tables of :func:`annotate_subsets`."""
        cells = pd.DataFrame(
            {
                "lineage": lin,
                "subcluster": self.subcluster,
                "subset": self.subset,
                "subset_confidence": np.clip(self.subset_conf, 0.0, 1.0),
                "subset_root": self.subset_root,
                "cell_subset": self.cell_subset,
                "cell_subset_confidence": np.clip(self.cell_conf, 0.0, 1.0),
                "cell_subset_source": np.where(
                    self.cell_subset == UNASSIGNED, "", self.cell_source
                ),
            },
            index=adata.obs_names.copy(),
        )
        for name, values in self.axes.items():
            cells[f"axis_{name}"] = values
        cells[[f"score_{s}" for s in self.names]] = self.score_tab
        clusters = pd.DataFrame(self.cluster_rows)
        meta = {
            "min_confidence": opts.min_confidence,
            "min_margin": opts.min_margin,
            "min_score": opts.min_score,
            "min_cell_margin": opts.min_cell_margin,
            "min_cell_score": opts.min_cell_score,
            "propagate": opts.propagate,
            "min_identity_margin": opts.min_identity_margin,
            "balance_propagation": opts.balance_propagation,
            "propagation_alpha": opts.propagation_alpha,
            "resolution": opts.resolution,
            "seed": opts.seed,
            "markers_used": self.used_meta,
            "unscored": self.unscored_meta,
        }
        cells.attrs.update(meta)
        clusters.attrs.update(meta)
        return cells, clusters


def _annotate_lineage(
    adata: ad.AnnData,
    lin_name: str,
    rows: np.ndarray,
    markers: SubsetMarkers,
    opts: SubsetOptions,
    acc: _Accumulator,
    ahead: Prefetched | None = None,
) -> None:
    """Scores, sub-clusters, root / identity / child calls and axes of one lineage (its
    cells ``ahead`` when read in advance from a backed file, else read here)."""
    lin_subsets = markers.of_lineage(lin_name)
    # a view; from a backed file, this lineage's cells (a sketched one: its marker genes only)
    sub = read_rows(adata, rows) if ahead is None else ahead.sub
    scores = gene_set_scores(
        sub,
        {s.name: list(s.genes) for s in lin_subsets},
        layer=opts.layer,
        quantile=opts.quantile,
        min_markers=opts.min_markers,
        negative={s.name: list(s.negative) for s in lin_subsets if s.negative},
        min_fraction=opts.min_fraction,
        warn=False,
    )
    acc.used_meta[lin_name] = scores.attrs["markers_used"]
    acc.unscored_meta[lin_name] = scores.attrs["unscored"]
    values_all = scores.to_numpy()
    columns = list(scores.columns)
    for s in lin_subsets:
        acc.score_tab[rows, acc.col[s.name]] = values_all[:, columns.index(s.name)]

    # Sub-clusters (and the kNN graph used for propagation).
    id_roots = [s for s in lin_subsets if s.parent is None and s.identity]
    use_identity = opts.propagate and len(id_roots) >= 2
    fitted = None if ahead is None else ahead.fitted
    labels, graph = subclusters(
        sub, lin_subsets, use_identity=use_identity, options=opts, fitted=fitted
    )
    cats = sorted(set(labels), key=lambda x: (len(x), x))
    codes = pd.Categorical(labels, categories=cats).codes
    acc.subcluster[rows] = [f"{lin_name}.{x}" for x in labels]

    # Level 1: roots (identity roots re-called per cell); level 2: children of each root.
    roots = [s.name for s in lin_subsets if s.parent is None]
    calls = root_calls(
        values_all[:, [columns.index(r) for r in roots]], roots, codes, len(cats), opts
    )
    if use_identity:
        identity_call(sub, id_roots, calls, graph, options=opts)
    for root in roots:
        kids = [s.name for s in markers.children(root)]
        if kids:
            kid_values = values_all[:, [columns.index(k) for k in kids]]
            child_calls(calls, kid_values, root, kids, codes, opts)
    acc.record(rows, codes, calls)

    # Axes of this lineage.
    for axis in (a for a in markers.axes if a.lineage == lin_name):
        ax_scores = gene_set_scores(
            sub,
            {"pos": list(axis.positive), "neg": list(axis.negative)},
            layer=opts.layer,
            quantile=opts.quantile,
            min_markers=opts.min_markers,
            warn=False,
        )
        value = (ax_scores["pos"] - ax_scores["neg"]).to_numpy()
        in_subset = calls.cl_call[codes] == axis.subset
        acc.axes[axis.name][rows[in_subset]] = value[in_subset]
    acc.add_cluster_rows(lin_name, cats, codes, rows, calls)
