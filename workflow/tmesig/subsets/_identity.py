"""Per-cell call between identity roots: identity-gene seeds, then label spreading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from tmesig.annotate import gene_set_scores
from tmesig.constants import UNASSIGNED
from tmesig.margins import relative_margin

from ._levels import LineageCalls
from ._markers import Subset
from ._options import SubsetOptions
from ._spread import neighbour_agreement, spread

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["identity_call"]


def identity_call(
    sub: ad.AnnData,
    id_roots: Sequence[Subset],
    calls: LineageCalls,
    graph: sp.csr_matrix | None,
    *,
    options: SubsetOptions,
) -> None:
    """Re-call (in place) the cells' root between ``id_roots`` from their identity genes.

    See "Identity genes and propagation" in :mod:`tmesig.subsets`: eligible cells with a
    clear identity-gene call are seeds, the seeds' labels are spread over ``graph`` and
    every eligible cell takes its spread label, with its neighbour agreement as confidence.
    """
    names = [s.name for s in id_roots]
    id_scores = gene_set_scores(
        sub,
        {s.name: list(s.identity) for s in id_roots},
        layer=options.layer,
        quantile=options.quantile,
        min_markers=1,
        warn=False,
    ).to_numpy()
    if not np.isfinite(id_scores).all(axis=0).all():
        return  # an identity set has no detected gene: no evidence
    # cells the step applies to: called (or best-scoring) as one of the identity roots
    cell_idx = calls.lv1["cell_idx"]
    best_root = np.where(cell_idx >= 0, calls.roots[np.maximum(cell_idx, 0)], "")
    eligible = np.isin(calls.c_call, names) | (
        (calls.c_call == UNASSIGNED) & np.isin(best_root, names)
    )
    order = np.argsort(-id_scores, axis=1, kind="stable")
    top = np.take_along_axis(id_scores, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(id_scores, order[:, 1:2], axis=1)[:, 0]
    margin = relative_margin(top, second)
    margin = np.where(top > 0, np.nan_to_num(margin), 0.0)
    seed = eligible & (top > 0) & (margin >= options.min_identity_margin)
    seed_label = np.where(seed, order[:, 0], -1)
    out_call = calls.c_call.copy()
    out_conf = calls.c_conf.copy()
    out_src = calls.c_src.copy()
    names_arr = np.array(names, dtype=object)
    out_call[seed] = names_arr[seed_label[seed]]
    out_conf[seed] = margin[seed]
    out_src[seed] = "identity"
    calls.c_call, calls.c_conf, calls.c_src = out_call, out_conf, out_src
    rest = eligible & ~seed
    if graph is None or not seed.any():
        out_call[rest] = UNASSIGNED
        out_conf[rest] = 0.0
        out_src[rest] = ""
        return
    lab, _ = spread(
        graph,
        seed_label,
        len(names),
        alpha=options.propagation_alpha,
        balance=options.balance_propagation,
    )
    lab = np.where(eligible, lab, -1)
    agreement = neighbour_agreement(graph, lab, len(names))
    ok = eligible & (lab >= 0) & (agreement >= options.min_cell_margin)
    out_call[eligible] = UNASSIGNED
    out_conf[eligible] = 0.0
    out_src[eligible] = ""
    out_call[ok] = names_arr[lab[ok]]
    out_conf[ok] = agreement[ok]
    out_src[ok & seed & (lab == seed_label)] = "identity"
    out_src[ok & seed & (lab != seed_label)] = "identity_overridden"
    out_src[ok & ~seed] = "propagated"
