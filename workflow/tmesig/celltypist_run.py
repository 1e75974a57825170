"""Running a local CellTypist model: on cells in memory, or on ``clustered.h5ad`` in chunks.

:func:`run_celltypist` predicts the cells of an AnnData held in memory.
:func:`run_celltypist_file` predicts the cells of a ``clustered.h5ad`` a chunk of cells at
a time (each chunk log-normalised as it is read, :mod:`tmesig.io.expression`), so its memory
is bounded by a chunk, not by the matrix: CellTypist scales the model's genes into a dense
matrix (cells × genes, float64), which for a million cells would be tens of GB. A cell's
prediction depends on that cell alone (the model's fixed scaler and logistic regression), so
the labels are the same chunk by chunk; the majority vote needs every cell's prediction and
is taken afterwards over the given clusters (``over_clustering``, the run's Leiden clusters)
with CellTypist's own :meth:`celltypist.classifier.Classifier.majority_vote`. Data that fit
in one chunk are predicted in one call, exactly as :func:`run_celltypist` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd

from .celltypist_model import load_model
from .io.errors import InputError
from .io.expression import SIZE_FACTOR, iter_rows, needs_normalising, normalise_block

__all__ = ["CHUNK_BYTES", "MIN_CHUNK", "chunk_cells", "run_celltypist", "run_celltypist_file"]

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Size of CellTypist's dense, scaled copy of one chunk (cells × model genes, float64).
CHUNK_BYTES = 256 * 2**20
#: Fewest cells per chunk, however many genes the model has.
MIN_CHUNK = 2_000


def chunk_cells(n_genes: int, *, budget: int = CHUNK_BYTES) -> int:
    """Cells per chunk whose dense float64 copy over ``n_genes`` genes fits ``budget`` bytes.

    Parameters
    ----------
    n_genes
        Genes of the model measured in the data.
    budget
        Bytes of one chunk's dense copy.

    Returns
    -------
    int
        At least :data:`MIN_CHUNK`.
    """
    return max(MIN_CHUNK, int(budget) // (8 * max(int(n_genes), 1)))


def _annotate(celltypist, model, adata: ad.AnnData, model_path: Path, **kwargs: Any):
    """``celltypist.annotate`` with its ``ValueError`` turned into an InputError."""
    try:
        return celltypist.annotate(adata, model=model, **kwargs)
    except ValueError as exc:
        msg = (
            f"CellTypist model {model_path} cannot annotate these cells ({exc}); the model needs "
            "gene symbols shared with the data and log1p expression normalised to 10,000 counts."
        )
        raise InputError(msg) from exc


def _table(pred, majority_voting: bool, index: pd.Index) -> pd.DataFrame:
    labels = pred.predicted_labels
    col = (
        "majority_voting" if majority_voting and "majority_voting" in labels else "predicted_labels"
    )
    prob = pred.probability_matrix.max(axis=1)
    return pd.DataFrame(
        {
            "celltypist_label": labels[col].astype(str).to_numpy(),
            "celltypist_confidence": prob.reindex(labels.index).to_numpy(),
        },
        index=index.copy(),
    )


def run_celltypist(
    adata: ad.AnnData,
    *,
    model_path: str | Path,
    majority_voting: bool = False,
    over_clustering: str | None = None,
    cache_dir: str | Path | None = None,
    sha256: str | None = None,
) -> pd.DataFrame:
    """Predict labels with a local CellTypist model.

    A CellTypist model is a pickle, and loading a pickle can run code: with ``sha256`` the
    model's bytes are read once, checked against it, and only that verified copy (in a
    private temporary directory) is unpickled. The pipeline always passes it
    (``annotate.celltypist_sha256``, required with a model).

    Parameters
    ----------
    adata
        Log1p-normalised (to 10,000) expression in ``X``, gene symbols as ``var_names``
        (what CellTypist expects).
    model_path
        Local ``.pkl`` model file. Nothing is downloaded.
    majority_voting
        Passed to ``celltypist.annotate``: refine the per-cell labels by a majority vote
        inside each cluster of ``over_clustering``.
    over_clustering
        ``obs`` column of clusters for the majority vote (e.g. ``"leiden"``); ``None`` lets
        CellTypist over-cluster by itself.
    cache_dir
        Directory for ``CELLTYPIST_FOLDER`` (set *before* importing celltypist, which
        otherwise creates ``~/.celltypist``); default a temporary directory.
    sha256
        Expected SHA-256 of the model file (64 hex digits); ``None`` skips the check (only
        for a model you trust, e.g. one you trained yourself).

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``; ``celltypist_label`` (``majority_voting`` if requested, else
        ``predicted_labels``) and ``celltypist_confidence`` (max probability).

    Raises
    ------
    FileNotFoundError
        If ``model_path`` does not exist.
    ImportError
        If celltypist is not installed (``pip install celltypist``).
    InputError
        If the file's SHA-256 is not ``sha256``, it is not a CellTypist model, shares no gene
        with the data, or ``X`` is not log1p-normalised to 10,000 counts per cell; the message
        names the model file.
    """
    model_path = Path(model_path)
    celltypist, model = load_model(model_path, cache_dir=cache_dir, sha256=sha256)
    kwargs = {"over_clustering": over_clustering} if majority_voting and over_clustering else {}
    pred = _annotate(
        celltypist, model, adata, model_path, majority_voting=majority_voting, **kwargs
    )
    return _table(pred, majority_voting, adata.obs_names)


def _meta(f: h5py.File) -> ad.AnnData:
    """The cells, genes and ``uns`` of an open h5ad file, without its matrices or graphs."""
    parts = {key: ad.io.read_elem(f[key]) for key in ("obs", "var", "uns") if key in f}
    return ad.AnnData(**parts)


def _chunks(f: h5py.File, meta: ad.AnnData, chunk_size: int) -> Iterator[ad.AnnData]:
    """Consecutive cells of the file's ``X`` as in-memory AnnData, log-normalised as read."""
    factors = meta.obs[SIZE_FACTOR].to_numpy() if needs_normalising(meta) else None
    var = pd.DataFrame(index=meta.var_names.copy())
    node = f["X"]
    x = ad.io.sparse_dataset(node) if isinstance(node, h5py.Group) else node
    for start, stop, block in iter_rows(x, meta.n_obs, chunk_size=chunk_size):
        if factors is not None:
            block = normalise_block(block, factors[start:stop])
        yield ad.AnnData(X=block, obs=meta.obs.iloc[start:stop].copy(), var=var)


def run_celltypist_file(
    path: str | Path,
    *,
    model_path: str | Path,
    majority_voting: bool = False,
    over_clustering: str | None = None,
    sha256: str | None = None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """:func:`run_celltypist` on a ``clustered.h5ad``, a chunk of cells at a time.

    Parameters
    ----------
    path
        ``clustered.h5ad`` (stored values, log-normalised chunk by chunk as read).
    model_path, sha256
        See :func:`run_celltypist`.
    majority_voting
        Refine the labels by a majority vote inside each cluster of ``over_clustering``.
    over_clustering
        ``obs`` column of clusters for the vote (e.g. ``"leiden"``); required to vote over
        more than one chunk (CellTypist's own over-clustering needs every cell at once).
    chunk_size
        Cells per chunk; ``None``: :func:`chunk_cells` of the model's genes in the data.

    Returns
    -------
    pandas.DataFrame
        As :func:`run_celltypist`, index the file's ``obs_names``.

    Raises
    ------
    InputError
        As :func:`run_celltypist`; also a vote over several chunks without ``over_clustering``
        naming an ``obs`` column.
    """
    model_path = Path(model_path)
    celltypist, model = load_model(model_path, sha256=sha256)
    with h5py.File(path, "r") as f:
        meta = _meta(f)
        if chunk_size is None:
            features = pd.Index(np.asarray(model.classifier.features).astype(str))
            chunk_size = chunk_cells(int(meta.var_names.astype(str).isin(features).sum()))
        vote = majority_voting and meta.n_obs > chunk_size
        if vote and (over_clustering is None or over_clustering not in meta.obs):
            msg = (
                f"{path}: a CellTypist majority vote over {meta.n_obs:,} cells needs the "
                f"clusters as an obs column (over_clustering={over_clustering!r} is not one); "
                "pass over_clustering='leiden'"
            )
            raise InputError(msg)
        kwargs = {"over_clustering": over_clustering} if majority_voting and over_clustering else {}
        kwargs["majority_voting"] = majority_voting and not vote
        tables = []
        for chunk in _chunks(f, meta, chunk_size):
            pred = _annotate(celltypist, model, chunk, model_path, **kwargs)
            tables.append(_table(pred, majority_voting and not vote, chunk.obs_names))
            del pred, chunk  # the prediction holds its chunk: keep only the labels
        if not tables:  # no cell: nothing to predict
            return pd.DataFrame(
                {"celltypist_label": [], "celltypist_confidence": []}, index=meta.obs_names
            )
        table = pd.concat(tables)
        if vote:
            clusters = meta.obs[over_clustering].astype(str).to_numpy()
            table["celltypist_label"] = _voted(celltypist, table["celltypist_label"], clusters)
    return table


def _voted(celltypist, labels: pd.Series, clusters: np.ndarray) -> np.ndarray:
    """CellTypist's majority vote of the per-cell ``labels`` inside each cluster."""
    frame = pd.DataFrame({"predicted_labels": labels.astype("category")}, index=labels.index)
    result = celltypist.classifier.AnnotationResult(frame, None, None, None)
    voted = celltypist.classifier.Classifier.majority_vote(result, clusters)
    return voted.predicted_labels["majority_voting"].astype(str).to_numpy()
