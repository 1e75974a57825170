"""External labels beside ours: CellTypist (optional) and author labels.

* :func:`run_celltypist` runs a user-supplied CellTypist model file (never downloaded;
  ``celltypist`` is imported lazily and is not a dependency of tmesig).
* :func:`labels_from_column` turns an ``obs`` column of author labels into the same
  ``compartment`` / ``confidence`` columns as :func:`tmesig.annotate.annotate`, so the
  pipeline can use them instead of its own calls.
* :func:`agreement_table` cross-tabulates our labels against theirs and reports the
  fraction agreeing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tmesig.annotate import UNASSIGNED

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["agreement_table", "labels_from_column", "run_celltypist"]


def run_celltypist(
    adata: ad.AnnData,
    *,
    model_path: str | Path,
    majority_voting: bool = False,
    over_clustering: str | None = None,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Predict labels with a local CellTypist model.

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
    ValueError
        If the file is not a CellTypist model, shares no gene with the data, or ``X`` is not
        log1p-normalised to 10,000 counts per cell; the message names the model file.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        msg = (
            f"CellTypist model {model_path} does not exist; pass a local .pkl model file "
            "(tmesig never downloads models)."
        )
        raise FileNotFoundError(msg)
    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "tmesig_celltypist"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CELLTYPIST_FOLDER", str(folder))
    try:
        import celltypist
        from celltypist import models
    except ImportError as exc:
        msg = "celltypist is not installed; pip install celltypist to use run_celltypist."
        raise ImportError(msg) from exc
    try:
        # an absolute path: celltypist treats a name without "/" as a model of its
        # registry, and with an empty model folder that means a download attempt
        model = models.Model.load(str(model_path.resolve()))
    except Exception as exc:  # celltypist raises bare Exceptions / pickle errors
        msg = (
            f"CellTypist model {model_path} could not be read ({type(exc).__name__}: {exc}); "
            "pass a .pkl file written by celltypist (models.Model.write or download_models)."
        )
        raise ValueError(msg) from exc
    kwargs = {"over_clustering": over_clustering} if majority_voting and over_clustering else {}
    try:
        pred = celltypist.annotate(adata, model=model, majority_voting=majority_voting, **kwargs)
    except ValueError as exc:
        msg = (
            f"CellTypist model {model_path} cannot annotate these cells ({exc}); the model needs "
            "gene symbols shared with the data and log1p expression normalised to 10,000 counts."
        )
        raise ValueError(msg) from exc
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
        index=adata.obs_names.copy(),
    )


def labels_from_column(
    adata: ad.AnnData,
    column: str,
    mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Author labels from an ``obs`` column, in the layout of ``annotate``'s cell table.

    Parameters
    ----------
    adata
        Data with author labels in ``obs[column]``.
    column
        ``obs`` column name.
    mapping
        Optional author label -> our label (e.g. ``{"T_cell": "T_NK"}``). With a mapping,
        labels not in it become ``unassigned``; without one, labels are used as given.

    Returns
    -------
    pandas.DataFrame
        Index ``obs_names``; ``label`` (the author label), ``compartment`` (mapped) and
        ``confidence`` (1.0, or 0.0 where unassigned / missing).

    Raises
    ------
    ValueError
        If the column does not exist.
    """
    if column not in adata.obs.columns:
        msg = (
            f"obs column {column!r} not found (obs columns: {list(adata.obs.columns)}); "
            "name the column that holds the author labels."
        )
        raise ValueError(msg)
    raw = adata.obs[column].astype(object)
    label = raw.where(raw.notna(), None)
    if mapping is None:
        mapped = label.fillna(UNASSIGNED).astype(str)
    else:
        mapped = label.map(
            lambda x: mapping.get(str(x), UNASSIGNED) if x is not None else UNASSIGNED
        )
    out = pd.DataFrame(
        {
            "label": label.astype(str).where(label.notna(), None).to_numpy(),
            "compartment": mapped.astype(str).to_numpy(),
        },
        index=adata.obs_names.copy(),
    )
    out["confidence"] = np.where(out["compartment"] == UNASSIGNED, 0.0, 1.0)
    out.attrs["source"] = f"obs[{column!r}]"
    return out


def agreement_table(
    ours: pd.Series,
    theirs: pd.Series,
    *,
    mapping: Mapping[str, str] | None = None,
    exclude: tuple[str, ...] = (UNASSIGNED,),
) -> tuple[pd.DataFrame, float]:
    """Cross-tabulate two labelings and compute the fraction of cells that agree.

    Parameters
    ----------
    ours
        Our label per cell (index = cell ids).
    theirs
        Their label per cell (CellTypist, author labels); aligned on the index.
    mapping
        Optional their label -> our vocabulary; their labels missing from it are not
        compared.
    exclude
        Their (mapped) labels not compared (default ``unassigned``). Our ``unassigned``
        calls *are* compared and count as disagreement.

    Returns
    -------
    table : pandas.DataFrame
        Crosstab (rows: ours, columns: theirs as given, before mapping) with ``All``
        margins.
    fraction : float
        Fraction of compared cells with ``ours == mapped theirs`` (``NaN`` if no cell is
        compared). ``table.attrs`` holds ``fraction_agreeing`` and ``n_compared``.

    Raises
    ------
    ValueError
        If the two Series share no cell.
    """
    common = ours.index.intersection(theirs.index)
    if len(common) == 0:
        msg = "ours and theirs share no cell ids; pass Series indexed by obs_names."
        raise ValueError(msg)
    a = ours.loc[common].astype(object).fillna(UNASSIGNED).astype(str)
    b = theirs.loc[common].astype(object).fillna(UNASSIGNED).astype(str)
    table = pd.crosstab(a.rename("ours"), b.rename("theirs"), margins=True)
    mapped = b.map(lambda x: mapping.get(x)) if mapping is not None else b
    compared = mapped.notna() & ~mapped.isin(list(exclude))
    n = int(compared.sum())
    fraction = float((a[compared] == mapped[compared]).mean()) if n else float("nan")
    table.attrs["fraction_agreeing"] = fraction
    table.attrs["n_compared"] = n
    return table, fraction
