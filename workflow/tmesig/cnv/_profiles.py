"""Smoothed, reference-subtracted copy-number profiles with infercnvpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._options import CnvOptions

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["cnv_profiles"]


def cnv_profiles(
    adata: ad.AnnData,
    reference: np.ndarray,
    *,
    reference_groups: Sequence[str] | None = None,
    options: CnvOptions | None = None,
    exclude_chromosomes: Sequence[str] | None = ("chrX", "chrY"),
) -> None:
    """Run ``infercnvpy.tl.infercnv`` with a boolean reference mask (in place: ``X_cnv``).

    Parameters
    ----------
    adata
        Log-normalised expression in ``X`` or ``options.layer``; positions in ``var``.
    reference
        Boolean mask of copy-neutral reference cells.
    reference_groups
        Optional label per cell (e.g. lineage); reference cells are then given to
        infercnvpy as one category per group, so that expression differences *between*
        reference cell types fall inside infercnvpy's reference bounds and are not read
        as copy number.
    options
        ``layer``, ``window_size``, ``step``, ``chunksize`` and ``n_jobs`` are passed to
        ``infercnvpy.tl.infercnv`` (default :class:`CnvOptions()`).
    exclude_chromosomes
        Passed to ``infercnvpy.tl.infercnv``.
    """
    import infercnvpy as cnv

    opts = CnvOptions() if options is None else options
    reference = np.asarray(reference, dtype=bool)
    groups = (
        np.full(adata.n_obs, "reference", dtype=object)
        if reference_groups is None
        else np.asarray(reference_groups, dtype=object).astype(str)
    )
    labels = np.where(reference, np.char.add("ref:", groups.astype(str)), "query")
    cats = sorted(set(labels[reference]))
    key = "_tmesig_cnv_ref"
    adata.obs[key] = pd.Categorical(labels)
    try:
        cnv.tl.infercnv(
            adata,
            reference_key=key,
            reference_cat=cats,
            window_size=opts.window_size,
            step=opts.step,
            chunksize=opts.chunksize,
            n_jobs=opts.n_jobs,
            layer=opts.layer,
            exclude_chromosomes=exclude_chromosomes,
            key_added="cnv",
        )
    finally:
        del adata.obs[key]
