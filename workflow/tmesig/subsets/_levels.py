"""Level-by-level calls inside one lineage: roots, then the children of each root."""

from dataclasses import dataclass

import numpy as np

from tmesig.constants import UNASSIGNED
from tmesig.margins import best_two, relative_margin

from ._options import SubsetOptions

__all__ = ["LineageCalls", "child_calls", "level", "root_calls"]


def level(values: np.ndarray, codes: np.ndarray, n_clusters: int) -> dict[str, np.ndarray]:
    """Cell- and cluster-level best / margin / agreement / confidence for one sibling set."""
    c_idx, c_best, _, c_second = best_two(values)
    cell_margin = np.where(c_idx >= 0, relative_margin(c_best, c_second), 0.0)
    finite = np.where(np.isfinite(values), values, 0.0)
    n_cells = np.bincount(codes, minlength=n_clusters).astype(float)
    sums = np.zeros((n_clusters, values.shape[1]))
    np.add.at(sums, codes, finite)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n_cells[:, None]
    means[:, ~np.isfinite(values).any(axis=0)] = np.nan
    means[n_cells == 0] = np.nan
    k_idx, k_best, _, k_second = best_two(means)
    margin = relative_margin(k_best, k_second)
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


@dataclass
class LineageCalls:
    """Calls of one lineage's sub-clusters (``cl_*``) and cells (``c_*``), level by level.

    ``cl_root`` is the level-1 (root) call of each sub-cluster, ``c_src`` how each cell's
    root call was made, ``lv1`` the level-1 :func:`level` output, ``child_top`` /
    ``child_info`` the level-2 best child and its margin / agreement / confidence.
    """

    roots: np.ndarray
    lv1: dict[str, np.ndarray]
    cl_call: np.ndarray
    cl_conf: np.ndarray
    cl_root: np.ndarray
    c_call: np.ndarray
    c_conf: np.ndarray
    c_src: np.ndarray
    child_top: np.ndarray
    child_info: dict[str, np.ndarray]


def _cluster_ok(lv: dict[str, np.ndarray], opts: SubsetOptions) -> np.ndarray:
    return (
        (lv["idx"] >= 0)
        & (lv["confidence"] >= opts.min_confidence)
        & (lv["margin"] >= opts.min_margin)
        & (lv["best"] >= opts.min_score)
    )


def _cell_ok(lv: dict[str, np.ndarray], opts: SubsetOptions) -> np.ndarray:
    return (
        (lv["cell_idx"] >= 0)
        & (lv["cell_margin"] >= opts.min_cell_margin)
        & (lv["cell_best"] >= opts.min_cell_score)
    )


def root_calls(
    values: np.ndarray,
    roots: list[str],
    codes: np.ndarray,
    n_clusters: int,
    opts: SubsetOptions,
) -> LineageCalls:
    """Level 1: each sub-cluster's and cell's root (``unassigned`` below the thresholds)."""
    lv1 = level(values, codes, n_clusters)
    roots_arr = np.array(roots, dtype=object)
    cl_call = np.where(_cluster_ok(lv1, opts), roots_arr[np.maximum(lv1["idx"], 0)], UNASSIGNED)
    cell_ok = _cell_ok(lv1, opts)
    return LineageCalls(
        roots=roots_arr,
        lv1=lv1,
        cl_call=cl_call,
        cl_conf=lv1["confidence"].copy(),
        cl_root=cl_call.copy(),
        c_call=np.where(cell_ok, roots_arr[np.maximum(lv1["cell_idx"], 0)], UNASSIGNED),
        c_conf=lv1["cell_margin"].copy(),
        c_src=np.where(cell_ok, "markers", "").astype(object),
        child_top=np.full(n_clusters, "", dtype=object),
        child_info={k: np.full(n_clusters, np.nan) for k in ("margin", "agreement", "confidence")},
    )


def child_calls(
    calls: LineageCalls,
    values: np.ndarray,
    root: str,
    kids: list[str],
    codes: np.ndarray,
    opts: SubsetOptions,
) -> None:
    """Level 2 (in place): refine sub-clusters and cells called ``root`` to one of its ``kids``.

    A child call needs the level-1 thresholds too; otherwise the call stays at ``root``.
    The confidence becomes the minimum along the path.
    """
    kids_arr = np.array(kids, dtype=object)
    lv2 = level(values, codes, calls.cl_call.size)
    # cluster path: only sub-clusters called `root`
    at_root = calls.cl_call == root
    ok2 = at_root & _cluster_ok(lv2, opts)
    for key in calls.child_info:
        calls.child_info[key] = np.where(at_root, lv2[key], calls.child_info[key])
    calls.child_top = np.where(
        at_root & (lv2["idx"] >= 0), kids_arr[np.maximum(lv2["idx"], 0)], calls.child_top
    )
    calls.cl_conf = np.where(ok2, np.minimum(calls.cl_conf, lv2["confidence"]), calls.cl_conf)
    calls.cl_call = np.where(ok2, kids_arr[np.maximum(lv2["idx"], 0)], calls.cl_call)
    # cell path: only cells whose own root is `root`
    cell_ok2 = (calls.c_call == root) & _cell_ok(lv2, opts)
    calls.c_conf = np.where(cell_ok2, np.minimum(calls.c_conf, lv2["cell_margin"]), calls.c_conf)
    calls.c_call = np.where(cell_ok2, kids_arr[np.maximum(lv2["cell_idx"], 0)], calls.c_call)
