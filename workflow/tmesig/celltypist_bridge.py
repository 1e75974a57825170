"""External labels beside ours: CellTypist (optional) and author labels.

* :func:`run_celltypist` runs a user-supplied CellTypist model file (never downloaded;
  ``celltypist`` is imported lazily and is not a dependency of tmesig); on a
  ``clustered.h5ad`` it runs chunk by chunk (:mod:`tmesig.celltypist_run`).
* :func:`labels_from_column` turns an ``obs`` column of author labels into the same
  ``compartment`` / ``confidence`` columns as :func:`tmesig.annotate.annotate`, so the
  pipeline can use them instead of its own calls.
* :func:`agreement_table` cross-tabulates our labels against theirs and reports the
  fraction agreeing.
* :func:`author_agreement` and :func:`celltypist_agreement` do both for the ``annotate``
  stage: our cell table gains the external labels (and, with ``use_author_labels``, takes
  the author labels as its compartments); :func:`note_table` is written instead of an
  agreement table that cannot be made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import pandas as pd

from .celltypist_run import run_celltypist, run_celltypist_file
from .constants import UNASSIGNED
from .io.errors import InputError

if TYPE_CHECKING:
    import anndata as ad

__all__ = [
    "NO_AUTHOR_LABELS",
    "NO_CELLTYPIST_MODEL",
    "agreement_table",
    "author_agreement",
    "celltypist_agreement",
    "labels_from_column",
    "note_table",
    "run_celltypist",
    "with_author_labels",
]

#: Note of the author-label agreement table when the sample sheet names no label column.
NO_AUTHOR_LABELS = "no author labels: name an obs column in the sample sheet's label_col"
#: Note of the CellTypist agreement table when no model is configured.
NO_CELLTYPIST_MODEL = "no CellTypist model: name a local .pkl in annotate.celltypist_model"


def labels_from_column(
    adata: ad.AnnData,
    column: str,
    *,
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


def note_table(note: str) -> pd.DataFrame:
    """A one-row table with a ``note`` column, written where an agreement table cannot be made.

    Parameters
    ----------
    note
        What is missing and how to provide it (:data:`NO_AUTHOR_LABELS`,
        :data:`NO_CELLTYPIST_MODEL`).

    Returns
    -------
    pandas.DataFrame
        One column ``note``, one row (write it with ``index=False``).
    """
    return pd.DataFrame({"note": [note]})


def with_author_labels(
    cells: pd.DataFrame, author: pd.DataFrame, *, label_col: str, use: bool = False
) -> pd.DataFrame:
    """Our cell table with the author labels beside it, or in place of our compartments.

    Parameters
    ----------
    cells
        Cell table of :func:`tmesig.annotate.annotate` with a ``source`` column.
    author
        Output of :func:`labels_from_column` (same index).
    label_col
        Sample-sheet label column (named in ``source``).
    use
        Take the author labels: ``compartment`` / ``confidence`` become the mapped author
        labels, ours move to ``tmesig_compartment`` and ``source`` names the column.

    Returns
    -------
    pandas.DataFrame
        A copy of ``cells`` with ``author_label`` (and, with ``use``, the swap).
    """
    out = cells.copy()
    out["author_label"] = author["label"]
    if use:
        out["tmesig_compartment"] = out["compartment"]
        out["compartment"] = author["compartment"]
        out["confidence"] = author["confidence"]
        out["source"] = f"author labels ({label_col})"
    return out


def author_agreement(
    cells: pd.DataFrame,
    adata: ad.AnnData,
    label_col: str,
    *,
    mapping: Mapping[str, str] | None = None,
    use_author_labels: bool = False,
    dataset: str | Path = "dataset",
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Compare our compartments with the author labels in ``obs["orig_<label_col>"]``.

    Parameters
    ----------
    cells
        Cell table of :func:`tmesig.annotate.annotate` with a ``source`` column.
    adata
        The ingested data (author columns carry the ``orig_`` prefix).
    label_col
        The sample sheet's ``label_col``.
    mapping
        Author label -> compartment (see :func:`labels_from_column`).
    use_author_labels
        Use the author labels instead of ours (see :func:`with_author_labels`).
    dataset
        The dataset file, named in the error message.

    Returns
    -------
    cells : pandas.DataFrame
        See :func:`with_author_labels`.
    table : pandas.DataFrame
        Crosstab of ours against the author labels (:func:`agreement_table`).
    fraction : float
        Fraction of compared cells agreeing.

    Raises
    ------
    InputError
        If the dataset has no such column.
    """
    column = f"orig_{label_col}"
    if column not in adata.obs.columns:
        msg = (
            f"{dataset}: the sample sheet's label_col {label_col!r} is not an obs "
            "column of the dataset; fix label_col in the sample sheet"
        )
        raise InputError(msg)
    author = labels_from_column(adata, column, mapping=mapping)
    table, fraction = agreement_table(cells["compartment"], author["label"], mapping=mapping)
    out = with_author_labels(cells, author, label_col=label_col, use=use_author_labels)
    return out, table, fraction


def celltypist_agreement(
    cells: pd.DataFrame,
    adata: ad.AnnData | str | Path,
    *,
    model_path: str | Path,
    majority_voting: bool = False,
    mapping: Mapping[str, str] | None = None,
    sha256: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Run CellTypist, put its labels beside ours and compare them with our compartments.

    Parameters
    ----------
    cells
        Cell table of :func:`tmesig.annotate.annotate` (ours are ``tmesig_compartment``
        when present, i.e. when author labels replaced them, else ``compartment``).
    adata
        Log1p-normalised data, or the path of a ``clustered.h5ad``: then predicted a chunk
        of cells at a time (:func:`tmesig.celltypist_run.run_celltypist_file`, memory bounded
        by a chunk). The majority vote uses ``obs["leiden"]`` when present.
    model_path, majority_voting, sha256
        See :func:`run_celltypist`.
    mapping
        CellTypist label -> compartment for the comparison (:func:`agreement_table`).

    Returns
    -------
    cells : pandas.DataFrame
        ``cells`` joined with ``celltypist_label`` and ``celltypist_confidence``.
    table : pandas.DataFrame
        Crosstab of ours against CellTypist's labels.
    fraction : float
        Fraction of compared cells agreeing.
    """
    if isinstance(adata, (str, Path)):
        ct = run_celltypist_file(
            adata,
            model_path=model_path,
            majority_voting=majority_voting,
            over_clustering="leiden" if _has_obs_column(adata, "leiden") else None,
            sha256=sha256,
        )
    else:
        ct = run_celltypist(
            adata,
            model_path=model_path,
            majority_voting=majority_voting,
            over_clustering="leiden" if "leiden" in adata.obs else None,
            sha256=sha256,
        )
    ours = cells.get("tmesig_compartment", cells["compartment"])
    table, fraction = agreement_table(ours, ct["celltypist_label"], mapping=mapping)
    return cells.join(ct), table, fraction


def _has_obs_column(path: str | Path, column: str) -> bool:
    """Whether the h5ad file at ``path`` has ``obs[column]`` (read without the matrix)."""
    with h5py.File(path, "r") as f:
        return "obs" in f and column in f["obs"]
