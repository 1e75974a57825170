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

__all__ = ["cnv_profiles", "kept_windows_mean"]


def kept_windows_mean(
    x: np.ndarray, *, n: int, step: int, kernel: np.ndarray | None = None
) -> np.ndarray:
    """infercnvpy's smoothing of one chromosome, only for the windows it keeps.

    ``infercnvpy.tl._infercnv._running_mean`` convolves every row with the pyramid
    ``min(1..n, n..1)`` over all ``L - n + 1`` windows, then keeps every ``step``-th
    window and divides by the pyramid's sum. ``np.convolve`` computes each window as
    numpy's ``DOUBLE_dot`` of the window and the reversed kernel (one BLAS ``ddot`` of
    length ``n``); ``np.dot`` of the strided windows (cells x kept windows x n) and the
    reversed kernel makes the same ``DOUBLE_dot`` call for each kept window only, so the
    numbers are the same, bit for bit, at ``1 / step`` of the work.

    Parameters
    ----------
    x
        Cells x genes of one chromosome, in genomic order (float32 or float64).
    n
        Window size (smaller than the number of genes).
    step
        Every ``step``-th window is kept.
    kernel
        The convolution kernel (default: infercnvpy's pyramid of ``n``).

    Returns
    -------
    numpy.ndarray
        Cells x kept windows (float64), divided by the kernel's sum.
    """
    if kernel is None:
        r = np.arange(1, n + 1)
        kernel = np.minimum(r, r[::-1])
    x = np.ascontiguousarray(x, dtype=np.result_type(x.dtype, kernel.dtype))
    rev = np.ascontiguousarray(kernel[::-1], dtype=x.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(x, n, axis=1)[:, ::step, :]
    return np.dot(windows, rev) / np.sum(kernel)


def _fast_running_mean(original):
    """``_running_mean`` with :func:`kept_windows_mean` where it gives the same numbers.

    Kernels of up to 11 (numpy convolves them with its own loop, not ``ddot``) go to
    infercnvpy's function. The first row is also smoothed by infercnvpy's function: when the
    two differ (a future numpy or infercnvpy computing otherwise), it smooths the whole
    chunk.
    """

    def running_mean(x, n=50, step=10, gene_list=None, calculate_gene_values=False):
        if calculate_gene_values or not _SMALL_KERNEL < n < x.shape[1] or x.dtype not in _FLOATS:
            return original(x, n, step, gene_list, calculate_gene_values)
        fast = kept_windows_mean(x, n=n, step=step)
        probe, _ = original(x[:1], n, step, gene_list, False)
        if probe.shape != fast[:1].shape or not np.array_equal(probe, fast[:1]):
            return original(x, n, step, gene_list, calculate_gene_values)
        return fast, None

    return running_mean


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: numpy's ``np.convolve`` computes kernels up to this long with its own loop, not ``ddot``.
_SMALL_KERNEL = 11


@contextmanager
def _in_process(n_jobs: int | None) -> Iterator[None]:
    """infercnvpy with its smoothing computed only for the windows it keeps
    (:func:`kept_windows_mean`) and, with one job, its cell chunks processed in this process.

    ``infercnvpy.tl.infercnv`` hands its chunks to ``tqdm``'s ``process_map``, which starts a
    worker process even for one job: the worker, forked from this process, counts the whole
    parent's resident memory again (and each chunk is pickled to it). The same function on
    the same chunks, in order, gives the same profiles without it. (Forked workers inherit
    the faster smoothing; either way the profiles are the same.)
    """
    from infercnvpy.tl import _infercnv as impl

    saved = {name: getattr(impl, name, None) for name in ("process_map", "_running_mean")}
    if saved["_running_mean"] is not None:
        impl._running_mean = _fast_running_mean(saved["_running_mean"])
    if n_jobs == 1 and saved["process_map"] is not None:

        def serial(fn, *iterables, **_options):
            return [fn(*args) for args in zip(*iterables, strict=False)]  # repeat() is endless

        impl.process_map = serial
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is not None:
                setattr(impl, name, value)


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
