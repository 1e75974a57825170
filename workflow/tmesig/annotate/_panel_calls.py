"""Lineage calls on a targeted panel: cluster-level marker contrasts, top-k per lineage.

On a panel (a few hundred genes, tens of genes detected per cell) per-cell marker scores
are mostly zeros, so the whole-transcriptome caller (:func:`tmesig.annotate.annotate`,
which needs the cells of a cluster to agree one by one) leaves most clusters unassigned.
Here the call is made on each cluster as a whole:

* for every marker ``g`` on the panel and cluster ``c``, the *contrast*
  ``e[c, g] = f_c(g) - f_rest(g)``: the fraction of the cluster's cells in which ``g`` is
  detected minus that fraction among all other cells (in ``[-1, 1]``; independent of the
  depth of the panel up to the detection rate, and of how abundant the lineage is);
* a marker is *used* when some cluster detects it at least ``min_contrast`` more often than
  the rest of the cells (a candidate no cluster singles out cannot mark a lineage here);
* the score of lineage ``L`` in cluster ``c`` is the mean of the ``top_k`` largest positive
  contrasts among ``L``'s used markers (all of them when it has fewer): a lineage is judged
  by its best markers on the panel, so lineages with many candidates and lineages with one
  or two (e.g. a panel whose only epithelial marker is KRT8) are on the same scale, and
  markers of the lineage that this tissue does not express do not dilute the score;
* the call uses ``L``'s score in ``c`` only when ``c`` shows at least two of ``L``'s
  markers (``min_contrast`` each) or as many as ``L``'s best-scoring cluster does, if fewer:
  one gene that another cell type also expresses (PECAM1 on plasma cells) cannot call a
  lineage whose own clusters show several markers, while a KRT8-only lineage needs one;
  and when the panel measures and uses two or more of ``L``'s *core* markers (the
  compartment marker file: COL1A1, DCN... for fibroblasts), ``c`` must show one of them: a
  lineage is not called from its broader candidates alone (tumour cells detecting TAGLN,
  SCARA3 and SBSPON, pegasus fibroblast-subtype genes, are not fibroblasts);
* ``top`` / ``second`` are the best two lineages, ``margin = (S_top - S_second) / S_top``;
  ``agreement`` weighs the votes of the cluster's cells *with any marker detected* for
  ``top`` against their votes for other lineages in excess of the rest of the data's
  (:func:`tmesig.annotate._panel_votes.agreement`; per cell, a lineage scores the mean
  of its ``top_k`` largest marker values ``min(x / q_g, 1)``, ``q_g`` the 0.9 quantile of
  the gene's non-zero values); ``confidence = sqrt(agreement * margin)``. A cluster is
  ``unassigned`` when ``S_top < min_score``, ``margin < min_margin`` or
  ``confidence < min_confidence``;
* a cluster left unassigned although two lineages score at least ``min_score`` in it (on a
  sparse panel, e.g. T and B cells clustered together) is sub-clustered once
  (:func:`tmesig.annotate._panel_refine.refine_mixed`) and every cluster is called again;
  its cells then carry the sub-cluster's label (``<cluster>.<k>``);
* every cluster is also sub-clustered on trial; a sub-cluster whose marker evidence is
  disjoint from the rest of its cluster (another lineage's markers detected at least
  ``min_score`` more often, the cluster's own lineage's at most half as often: plasma cells
  in a T-cell cluster on a panel with one plasma marker) keeps its own label
  (:func:`tmesig.annotate._panel_refine.keep_disjoint`) and every cluster is called again;
* a cluster still unassigned is called the lineage it resembles on the whole panel, when
  that lineage is called elsewhere and also scores at least ``min_score`` on its markers
  in the cluster (:func:`tmesig.annotate._panel_rescue.rescue_unassigned`): a lineage
  spread over many clusters (tumour cells) keeps the clusters whose markers are weak.

Per cell: ``cell_compartment`` / ``cell_confidence`` as in :func:`tmesig.annotate.annotate`
(``unassigned`` for a cell with no marker detected). Deterministic; ties follow
:data:`tmesig.constants.LINEAGES`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.constants import LINEAGES, UNASSIGNED
from tmesig.margins import best_two, relative_margin

from . import _markers
from ._panel_contrast import _contrast, cluster_contrast
from ._panel_refine import keep_disjoint, refine_mixed, split_all
from ._panel_rescue import rescue_unassigned
from ._panel_votes import agreement as _agreement

__all__ = ["PanelOptions", "annotate_panel", "cluster_contrast"]


@dataclass(frozen=True)
class PanelOptions:
    """Thresholds of :func:`annotate_panel`.

    Attributes
    ----------
    top_k
        A lineage's cluster score is the mean of its ``top_k`` best marker contrasts.
    min_contrast
        A marker is used when one cluster detects it this much more often than the rest.
    min_score
        Clusters whose best lineage score is below this are unassigned.
    min_margin
        Clusters whose relative margin is below this are unassigned.
    min_confidence
        Clusters whose ``sqrt(agreement * margin)`` is below this are unassigned.
    shrink
        Weight of each of the ``top_k`` places a lineage with fewer used markers cannot
        fill (0: its score is the mean of the markers it has; 1: missing markers count 0).
    min_support
        A lineage scores in a cluster only when at least ``min(min_support, n)`` of its
        markers reach ``min_contrast`` there, ``n`` the number that reach it in the
        lineage's best-scoring cluster (one gene shared with another cell type, e.g. PECAM1
        on plasma cells, cannot call a lineage whose own clusters show several markers).
    refine
        Sub-cluster each mixed cluster once (:func:`refine_mixed`) and call again.
    split
        Split off the sub-clusters whose marker evidence is disjoint from the rest of their
        cluster (:func:`tmesig.annotate._panel_refine.keep_disjoint`) and call again.
    rescue
        Call unassigned clusters from their resemblance to the called lineages
        (:func:`tmesig.annotate._panel_rescue.rescue_unassigned`).
    seed
        Random state of the sub-clustering.

    Raises
    ------
    ValueError
        If ``top_k < 1`` or a threshold is outside ``[0, 1]``.
    """

    top_k: int = 3
    min_contrast: float = 0.1
    min_score: float = 0.1
    min_margin: float = 0.3
    min_confidence: float = 0.5
    shrink: float = 0.0
    min_support: int = 2
    refine: bool = True
    split: bool = True
    rescue: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("top_k", "min_support"):
            if getattr(self, name) < 1:
                msg = f"{name} must be at least 1, got {getattr(self, name)}."
                raise ValueError(msg)
        for name in ("min_contrast", "min_score", "min_margin", "min_confidence", "shrink"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                msg = f"{name} must be in [0, 1], got {value}."
                raise ValueError(msg)


def _lineage_scores(
    contrast: pd.DataFrame,
    used: Mapping[str, list[str]],
    opts: "PanelOptions",
    core: Mapping[str, Sequence[str]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clusters x lineages: the score and the score the call uses (NaN: no marker used).

    The score is the sum of the ``top_k`` largest positive contrasts over
    ``k + (top_k - k) * shrink`` (``k`` markers available, at most ``top_k``). The call
    uses it where at least ``min(min_support, n)`` markers reach ``min_contrast``, ``n``
    the number that reach it in the lineage's best-scoring cluster, and, when any of the
    lineage's ``core`` markers is used, one of them reaches it too (a lineage is not called
    from its broader candidates alone: tumour cells detecting a few smooth-muscle genes are
    not fibroblasts); 0 elsewhere.
    """
    raw = pd.DataFrame(np.nan, index=contrast.index, columns=list(used), dtype=float)
    gated = raw.copy()
    for lin, genes in used.items():
        if not genes:
            continue
        values = np.clip(contrast[genes].to_numpy(), 0.0, None)
        k = min(opts.top_k, len(genes))
        top = -np.sort(-values, axis=1)[:, :k]
        score = top.sum(axis=1) / (k + (opts.top_k - k) * opts.shrink)
        reach = values >= opts.min_contrast
        support = reach.sum(axis=1)
        need = min(opts.min_support, support[int(np.argmax(score))])
        is_core = np.isin(genes, list(core.get(lin, ())))
        core_ok = reach[:, is_core].any(axis=1) if is_core.sum() >= opts.min_support else True
        raw[lin] = score
        gated[lin] = np.where((support >= need) & core_ok, score, 0.0)
    return raw, gated


def annotate_panel(
    adata: ad.AnnData,
    candidates: Mapping[str, Sequence[str]],
    *,
    cluster_key: str = "leiden",
    options: PanelOptions | None = None,
    core: Mapping[str, Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Lineage per cluster and cell on a targeted panel (see the module docstring).

    Parameters
    ----------
    adata
        Cells x panel genes, log-normalised expression in ``X``, clusters in
        ``obs[cluster_key]``.
    candidates
        Lineage -> candidate markers (e.g. :data:`tmesig.annotate.PANEL_MARKERS`); genes
        the panel does not measure are ignored.
    cluster_key
        ``obs`` column with the clusters.
    options
        Thresholds (default :class:`PanelOptions()`).
    core
        Lineage -> its canonical markers (default: the compartment marker file,
        :func:`tmesig.annotate.load_markers`). When the panel measures and uses any of a
        lineage's core markers, a cluster is called that lineage only if it shows one of them.

    Returns
    -------
    cells : pandas.DataFrame
        The columns of :func:`tmesig.annotate.annotate`'s cell table.
    clusters : pandas.DataFrame
        The columns of :func:`tmesig.annotate.annotate`'s cluster table; ``score_<lineage>``
        is the lineage's cluster score (mean of its ``top_k`` best contrasts).
    used : dict[str, list[str]]
        Lineage -> the markers used (in :data:`tmesig.constants.LINEAGES` order, possibly
        empty); also in ``cells.attrs["markers_used"]``.
    """
    opts = PanelOptions() if options is None else options
    var = set(adata.var_names)
    lineages = [lin for lin in LINEAGES if lin in candidates]
    measured = {lin: [g for g in dict.fromkeys(candidates[lin]) if g in var] for lin in lineages}
    labels = adata.obs[cluster_key]
    core = _markers.load_markers() if core is None else core
    once = partial(_annotate_once, adata, measured=measured, opts=opts, core=core)
    cells, clusters, used = once(labels)
    if opts.refine:
        refined = refine_mixed(adata, labels, clusters, min_score=opts.min_score, seed=opts.seed)
        if refined is not None:
            labels = refined
            cells, clusters, used = once(labels)
    if opts.split:
        trial = split_all(adata, labels, seed=opts.seed)
        if trial is not None:
            _, trial_calls, trial_used = once(trial)
            kept = keep_disjoint(
                adata,
                labels,
                trial,
                trial_calls,
                trial_used,
                min_score=opts.min_score,
                top_k=opts.top_k,
            )
            if kept is not None:
                labels = kept
                cells, clusters, used = once(labels)
    rescued: dict[str, str] = {}
    if opts.rescue:
        clusters = rescue_unassigned(
            adata, labels, clusters, min_score=opts.min_score, min_margin=opts.min_margin
        )
        rescued = clusters.attrs.pop("rescued")
        codes = pd.Categorical(cells["cluster"].astype(str), categories=clusters["cluster"])
        cells["compartment"] = clusters["compartment"].to_numpy()[codes.codes]
        cells["confidence"] = clusters["confidence"].to_numpy()[codes.codes]
    attrs = {"markers_used": used, "panel_options": opts.__dict__.copy(), "rescued": rescued}
    cells.attrs.update(attrs)
    clusters.attrs.update(attrs)
    return cells, clusters, used


def _annotate_once(
    adata: ad.AnnData,
    labels: pd.Series,
    *,
    measured: Mapping[str, list[str]],
    opts: PanelOptions,
    core: Mapping[str, Sequence[str]],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """One pass of :func:`annotate_panel` over the clusters ``labels``."""
    lineages = list(measured)
    genes = list(dict.fromkeys(g for v in measured.values() for g in v))
    _, contrast = _contrast(adata, labels, genes)
    best = contrast.max(axis=0) if len(contrast) > 1 else contrast.iloc[0] * 0.0
    used = {lin: [g for g in v if best[g] >= opts.min_contrast] for lin, v in measured.items()}
    raw, scores = _lineage_scores(contrast, used, opts, core)
    comps = np.array(lineages, dtype=object)
    cell_scores = _cell_scores(adata, used, lineages, opts.top_k)
    c_idx, c_best, _, c_second = best_two(cell_scores)
    has = (c_idx >= 0) & (c_best > 0)
    cell_comp = np.where(has, comps[np.maximum(c_idx, 0)], UNASSIGNED)
    cell_conf = np.where(has, relative_margin(c_best, c_second), 0.0)
    codes = pd.Categorical(labels, categories=list(scores.index)).codes
    calls = _cluster_calls(scores.to_numpy(), comps, codes, cell_comp, has, opts)
    score_cols = [f"score_{lin}" for lin in lineages]
    clusters = pd.DataFrame({"cluster": pd.Series(list(scores.index), dtype=object), **calls})
    clusters[score_cols] = raw.to_numpy()
    cells = pd.DataFrame(
        {
            "cluster": labels.to_numpy(),
            "compartment": calls["compartment"][codes],
            "confidence": calls["confidence"][codes],
            "cell_compartment": cell_comp,
            "cell_confidence": cell_conf,
        },
        index=adata.obs_names.copy(),
    )
    cells[score_cols] = cell_scores
    return cells, clusters, used


def _cluster_calls(
    scores: np.ndarray,
    comps: np.ndarray,
    codes: np.ndarray,
    cell_comp: np.ndarray,
    has: np.ndarray,
    opts: PanelOptions,
) -> dict[str, np.ndarray]:
    """Per cluster: cells, call, confidence, top / second, margin and agreement."""
    n_clusters = scores.shape[0]
    k_idx, k_best, s_idx, k_second = best_two(scores)
    top = np.where((k_idx >= 0) & (k_best > 0), comps[np.maximum(k_idx, 0)], UNASSIGNED)
    second = np.where((s_idx >= 0) & (k_second > 0), comps[np.maximum(s_idx, 0)], UNASSIGNED)
    margin = relative_margin(k_best, k_second)
    agreement = _agreement(codes, cell_comp, has, top, comps, n_clusters)
    confidence = np.sqrt(agreement * margin)
    ok = (
        (top != UNASSIGNED)
        & (k_best >= opts.min_score)
        & (margin >= opts.min_margin)
        & (confidence >= opts.min_confidence)
    )
    return {
        "n_cells": np.bincount(codes, minlength=n_clusters),
        "compartment": np.where(ok, top, UNASSIGNED),
        "confidence": confidence,
        "top": top,
        "second": second,
        "margin": margin,
        "agreement": agreement,
    }


def _cell_scores(
    adata: ad.AnnData, used: Mapping[str, list[str]], lineages: list[str], top_k: int
) -> np.ndarray:
    """Cells x lineages: mean of the ``top_k`` largest scaled marker values (NaN: none used).

    A marker's value in a cell is ``min(x / q, 1)``, ``q`` the 0.9 quantile of its non-zero
    values (as in :func:`tmesig.annotate.marker_scores`); a lineage is judged by its best
    markers in the cell, as clusters are.
    """
    out = np.full((adata.n_obs, len(lineages)), np.nan)
    genes = list(dict.fromkeys(g for lin in lineages for g in used[lin]))
    if not genes:
        return out
    x = adata.X[:, pd.Index(adata.var_names).get_indexer(genes)]
    x = x.toarray() if sp.issparse(x) else np.asarray(x, dtype=float)
    x = np.clip(x, 0.0, None)
    q = np.array([np.quantile(c[c > 0], 0.9) if (c > 0).any() else 1.0 for c in x.T])
    scaled = np.minimum(x / q, 1.0)
    col = {g: j for j, g in enumerate(genes)}
    for j, lin in enumerate(lineages):
        if used[lin]:
            values = scaled[:, [col[g] for g in used[lin]]]
            k = min(top_k, values.shape[1])
            out[:, j] = -np.sort(-values, axis=1)[:, :k].mean(axis=1)
    return out
