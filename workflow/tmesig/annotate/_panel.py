"""Lineage markers for targeted panels, and the per-lineage count of markers found.

A targeted panel measures a few hundred genes, often one or two of a lineage's usual
markers. In panel mode each lineage's markers are taken from a broader candidate list
(``resources/markers/panel_markers.yaml``, built by ``build_panel_markers.py`` from the
pegasus marker files and ``compartments.yaml``) intersected with the panel, keeping only
the candidates the data express: detected in at least ``min_fraction`` of the cells of one
cluster (a marker no cluster expresses cannot mark a lineage here; it would only dilute
the lineage's mean score).
"""

from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig import paths
from tmesig.constants import LINEAGES, UNASSIGNED

__all__ = ["PANEL_MARKERS", "expressed_markers", "markers_found", "merge_markers"]

#: Broad per-lineage candidates for panels.
PANEL_MARKERS = paths.MARKERS_DIR / "panel_markers.yaml"


def merge_markers(
    primary: Mapping[str, Sequence[str]], extra: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Each lineage's ``primary`` markers, then its ``extra`` ones no other lineage claims.

    Parameters
    ----------
    primary
        Lineage -> markers (e.g. the configured marker file); they keep their lineage.
    extra
        Lineage -> further candidates (e.g. :data:`PANEL_MARKERS`).

    Returns
    -------
    dict[str, list[str]]
        Lineage -> markers, in :data:`tmesig.constants.LINEAGES` order, no gene twice.
    """
    owner = {g: lin for lin, genes in primary.items() for g in genes}
    out: dict[str, list[str]] = {}
    for lin in LINEAGES:
        genes = list(dict.fromkeys(primary.get(lin, ())))
        genes += [g for g in extra.get(lin, ()) if owner.get(g, lin) == lin and g not in genes]
        if genes:
            out[lin] = genes
    return out


def expressed_markers(
    adata: ad.AnnData,
    markers: Mapping[str, Sequence[str]],
    *,
    cluster_key: str = "leiden",
    min_fraction: float = 0.25,
) -> dict[str, list[str]]:
    """The markers on the panel that at least one cluster expresses.

    Parameters
    ----------
    adata
        Cells × genes (``X``: expression, zeros where not detected), clusters in
        ``obs[cluster_key]``.
    markers
        Lineage -> candidate markers.
    cluster_key
        ``obs`` column with the clusters.
    min_fraction
        A marker is kept when detected in at least this fraction of one cluster's cells.

    Returns
    -------
    dict[str, list[str]]
        Lineage -> kept markers (possibly empty), in the order given.
    """
    var = pd.Index(adata.var_names)
    genes = [g for g in dict.fromkeys(g for v in markers.values() for g in v) if g in var]
    if not genes:
        return {lin: [] for lin in markers}
    codes = pd.Categorical(adata.obs[cluster_key].astype(str)).codes
    n_clusters = int(codes.max()) + 1
    detected = sp.csr_matrix(adata.X[:, var.get_indexer(genes)])
    detected.eliminate_zeros()
    detected.data = np.ones_like(detected.data, dtype=np.float64)
    indicator = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_clusters, len(codes))
    )
    per_cluster = np.asarray((indicator @ detected).todense())
    fraction = per_cluster / np.bincount(codes, minlength=n_clusters)[:, None]
    best = dict(zip(genes, fraction.max(axis=0), strict=True))
    return {lin: [g for g in v if best.get(g, 0.0) >= min_fraction] for lin, v in markers.items()}


def markers_found(
    candidates: Mapping[str, Sequence[str]],
    used: Mapping[str, Sequence[str]],
    calls: pd.Series,
    *,
    var_names: Sequence[str],
    min_markers: int,
    few: int = 0,
) -> pd.DataFrame:
    """Per lineage: markers listed, measured, used, cells called, and a note when not called.

    Parameters
    ----------
    candidates
        Lineage -> the markers looked for.
    used
        Lineage -> the markers the scores used (``marker_scores`` ``attrs["markers_used"]``).
    calls
        Per-cell compartment calls.
    var_names
        The genes of the data.
    min_markers
        Fewest markers a lineage is scored with.
    few
        A lineage called from fewer markers than this gets a note saying so (its calls
        rest on one or two genes: worth checking against the authors' labels).

    Returns
    -------
    pandas.DataFrame
        ``lineage``, ``markers_listed``, ``markers_measured``, ``markers_used``, ``genes``
        (the used markers, ``,``-joined), ``cells_called``, ``callable`` and ``note``.
    """
    var = set(var_names)
    counts = calls.astype(str).value_counts()
    rows = []
    for lin in LINEAGES:
        listed = list(dict.fromkeys(candidates.get(lin, ())))
        genes = list(used.get(lin, ()))
        callable_ = len(genes) >= min_markers
        n_called = int(counts.get(lin, 0))
        if not callable_:
            note = (
                f"{lin} cannot be called: {len(genes)} of its markers measured and expressed "
                f"(fewer than {min_markers}); name the authors' labels in the sheet's label_col "
                "(with annotate.use_author_labels) to annotate this lineage"
            )
        elif n_called == 0:
            note = f"{lin} scored, but no cluster called {lin} (absent, or {UNASSIGNED})"
        elif len(genes) < few:
            note = (
                f"{lin} called from {len(genes)} marker(s) only ({', '.join(genes)}); "
                "check these calls against the authors' labels (the sheet's label_col)"
            )
        else:
            note = ""
        rows.append(
            {
                "lineage": lin,
                "markers_listed": len(listed),
                "markers_measured": sum(g in var for g in listed),
                "markers_used": len(genes),
                "genes": ",".join(genes),
                "cells_called": n_called,
                "callable": callable_,
                "note": note,
            }
        )
    return pd.DataFrame(rows)
