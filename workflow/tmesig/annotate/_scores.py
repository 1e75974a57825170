"""Per-cell ``[0, 1]`` marker and gene-set scores (see :mod:`tmesig.annotate`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmesig.constants import LINEAGES
from tmesig.io.errors import InputError

from ._markers import check_markers

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["expression_matrix", "gene_set_scores", "marker_scores"]


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
        Compartment -> marker genes (see :func:`tmesig.annotate.load_markers`).
    layer
        Layer holding non-negative log-normalised expression; ``None`` uses ``adata.X``.
    quantile
        Quantile of each gene's non-zero values used as its "expressing" level ``q_g``.
    min_markers
        Compartments with fewer present (detected) markers are scored ``NaN``.

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``, one float column per compartment (in
        :data:`tmesig.constants.LINEAGES` order), values in ``[0, 1]`` or ``NaN``.
        ``.attrs`` holds ``markers_used`` (compartment -> genes used), ``markers_missing``
        (compartment -> genes absent from ``var_names`` or never detected) and ``unscored``
        (compartments set to ``NaN``).

    Warns
    -----
    UserWarning
        If any compartment has fewer than ``min_markers`` markers present.

    Notes
    -----
    Only the marker columns are extracted (kept sparse); the full matrix is never
    densified. See :mod:`tmesig.annotate` for the scoring formula.
    """
    check_markers(markers)
    ordered = {c: list(markers[c]) for c in LINEAGES if c in markers}
    out = gene_set_scores(
        adata, ordered, layer=layer, quantile=quantile, min_markers=min_markers, warn=False
    )
    unscored = out.attrs["unscored"]
    if unscored:
        warnings.warn(
            f"Compartment(s) {unscored} have fewer than {min_markers} marker genes present "
            f"in the data and are scored NaN ({_unscored_detail(out)}); add markers present "
            "in the data if these compartments matter.",
            UserWarning,
            stacklevel=2,
        )
    return out


def expression_matrix(adata: ad.AnnData, layer: str | None):
    """Return ``adata.X`` or ``adata.layers[layer]``, with a helpful error if absent.

    Parameters
    ----------
    adata
        The data.
    layer
        Layer name; ``None`` for ``X``.

    Returns
    -------
    numpy.ndarray or scipy.sparse.spmatrix
        The matrix (not copied).

    Raises
    ------
    ValueError
        If the layer does not exist or ``X`` is empty.
    """
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

    The scoring of :func:`marker_scores` (see :mod:`tmesig.annotate`) for any set names:
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
    _check_scoring(adata, quantile, min_markers)
    matrix = expression_matrix(adata, layer)
    negative = dict(negative or {})
    ordered = list(gene_sets)
    all_genes = [g for c in ordered for g in gene_sets[c]]
    all_genes += [g for c in ordered for g in negative.get(c, ())]
    scaled = _ScaledGenes(adata, matrix, all_genes, quantile)

    scores, used, missing, unscored = _score_sets(
        scaled, gene_sets, negative, adata.n_obs, min_markers=min_markers, min_fraction=min_fraction
    )
    out = pd.DataFrame(scores, index=adata.obs_names.copy(), columns=ordered)
    out.attrs["markers_used"] = used
    out.attrs["markers_missing"] = missing
    out.attrs["unscored"] = unscored
    if unscored and warn:
        warnings.warn(
            f"Gene set(s) {unscored} have fewer than {min_markers} genes present "
            f"in the data and are scored NaN ({_unscored_detail(out)}); add genes present in "
            "the data if these sets matter.",
            UserWarning,
            stacklevel=2,
        )
    return out


def _score_sets(
    scaled: _ScaledGenes,
    gene_sets: Mapping[str, Sequence[str]],
    negative: Mapping[str, Sequence[str]],
    n_obs: int,
    *,
    min_markers: int,
    min_fraction: float,
) -> tuple[np.ndarray, dict[str, list[str]], dict[str, list[str]], list[str]]:
    """Scores (cells x sets), genes used and missing per set, and the unscored sets."""
    ordered = list(gene_sets)
    scores = np.full((n_obs, len(ordered)), np.nan)
    used: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    unscored: list[str] = []
    for k, name in enumerate(ordered):
        genes = list(dict.fromkeys(gene_sets[name]))
        values, present = scaled.mean(genes)
        used[name] = present
        missing[name] = [g for g in genes if g not in present]
        if values is None or len(present) < min_markers or len(present) < min_fraction * len(genes):
            unscored.append(name)
            continue
        neg_values, _ = scaled.mean(negative.get(name, ()))
        if neg_values is not None:
            values = values * (1.0 - neg_values)
        scores[:, k] = values
    return scores, used, missing, unscored


def _check_scoring(adata: ad.AnnData, quantile: float, min_markers: int) -> None:
    if not 0.0 < quantile <= 1.0:
        msg = f"quantile must be in (0, 1], got {quantile}; use e.g. 0.9."
        raise ValueError(msg)
    if min_markers < 1:
        msg = f"min_markers must be >= 1, got {min_markers}."
        raise ValueError(msg)
    if not adata.var_names.is_unique:
        msg = "adata.var_names are not unique; call adata.var_names_make_unique() first."
        raise ValueError(msg)


def _unscored_detail(out: pd.DataFrame) -> str:
    used = out.attrs["markers_used"]
    return "; ".join(
        f"{c}: {len(used[c])} present ({', '.join(used[c]) or '-'})" for c in out.attrs["unscored"]
    )


class _ScaledGenes:
    """The wanted genes' columns, each scaled to ``[0, 1]`` by its non-zero ``quantile``."""

    def __init__(self, adata: ad.AnnData, matrix, genes: Sequence[str], quantile: float) -> None:
        var_index = pd.Index(adata.var_names)
        wanted = list(dict.fromkeys(g for g in genes if g in var_index))
        cols = var_index.get_indexer(wanted)
        sub = matrix[:, cols] if len(cols) else np.zeros((adata.n_obs, 0))
        sub = sp.csc_matrix(sub, dtype=np.float64)
        sub.eliminate_zeros()
        if sub.nnz and sub.data.min() < 0:
            msg = (
                "Expression contains negative values (scaled data?); pass a layer with "
                "non-negative log-normalised expression (log1p of normalize_total)."
            )
            raise InputError(msg)
        # Per-gene scaling to [0, 1] by the quantile of the gene's non-zero values.
        scale = np.full(len(wanted), np.nan)
        for j in range(len(wanted)):
            vals = sub.data[sub.indptr[j] : sub.indptr[j + 1]]
            if vals.size:
                scale[j] = np.quantile(vals, quantile)
        self.detected = np.isfinite(scale) & (scale > 0)
        col_of_nnz = np.repeat(np.arange(len(wanted)), np.diff(sub.indptr))
        safe_scale = np.where(self.detected, scale, 1.0)
        sub.data = np.minimum(sub.data / safe_scale[col_of_nnz], 1.0)
        self.matrix = sub.tocsr()
        self.pos = {g: j for j, g in enumerate(wanted)}

    def mean(self, genes: Sequence[str]) -> tuple[np.ndarray | None, list[str]]:
        """Mean scaled expression over the detected ``genes`` (``None`` if none) and them."""
        pos, detected = self.pos, self.detected
        present = [g for g in dict.fromkeys(genes) if g in pos and detected[pos[g]]]
        if not present:
            return None, present
        idx = [pos[g] for g in present]
        return np.asarray(self.matrix[:, idx].sum(axis=1)).ravel() / len(idx), present
