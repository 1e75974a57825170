"""Smoothed, reference-subtracted copy-number profiles with infercnvpy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._options import CnvOptions

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["cnv_profiles"]


@contextmanager
def _in_process(n_jobs: int | None) -> Iterator[None]:
    """With one job, infercnvpy's cell chunks are processed in this process.

    ``infercnvpy.tl.infercnv`` hands its chunks to ``tqdm``'s ``process_map``, which starts a
    worker process even for one job: the worker, forked from this process, counts the whole
    parent's resident memory again (and each chunk is pickled to it). The same function on
    the same chunks, in order, gives the same profiles without it.
    """
    from infercnvpy.tl import _infercnv as impl

    original = getattr(impl, "process_map", None)
    if n_jobs != 1 or original is None:
        yield
        return

    def serial(fn, *iterables, **_options):
        return [fn(*args) for args in zip(*iterables, strict=False)]  # repeat() is endless

    impl.process_map = serial
    try:
        yield
    finally:
        impl.process_map = original


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
        with _in_process(opts.n_jobs):
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
