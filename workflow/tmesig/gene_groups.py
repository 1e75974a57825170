"""Per-group gene statistics, read a chunk of cells at a time: each cell's lineage, state and
patient (:func:`cell_groups`), a few genes' columns in memory (:func:`gene_matrix`), and per
compartment x gene the cells, mean, fraction expressing and patient means
(:func:`group_gene_stats`), at the lineage or the state level. Used by :mod:`tmesig.genes_view`.
"""

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .constants import (
    COL_COMPARTMENT,
    COL_LEVEL,
    COL_PARENT,
    COL_PATIENT,
    COL_SAMPLE,
    COL_STATE,
    LEVEL_LINEAGE,
    UNASSIGNED,
)
from .score._chunks import DEFAULT_CHUNK, iter_csr

__all__ = ["cell_groups", "gene_matrix", "group_gene_stats", "level_keys"]


def cell_groups(adata: ad.AnnData, annotation: pd.DataFrame) -> pd.DataFrame:
    """Per cell of ``adata``: ``lineage``, ``state``, ``parent`` and ``patient`` (strings).

    Parameters
    ----------
    adata
        The cells (``obs`` ``patient``, else ``sample``, else one patient ``all``).
    annotation
        ``annotation.tsv`` indexed by cell: ``compartment``, optionally ``state`` and
        ``parent``; cells it lacks are ``unassigned``, a missing ``state`` is ``unassigned``
        and a missing ``parent`` the cell's lineage.
    """
    ann = annotation.reindex(adata.obs_names)
    lineage = ann[COL_COMPARTMENT].fillna(UNASSIGNED).astype(str)
    state = ann[COL_STATE] if COL_STATE in ann else pd.Series(UNASSIGNED, index=ann.index)
    parent = ann[COL_PARENT] if COL_PARENT in ann else lineage
    obs = adata.obs
    unit = COL_PATIENT if COL_PATIENT in obs else COL_SAMPLE if COL_SAMPLE in obs else None
    patient = obs[unit].astype(str) if unit else pd.Series("all", index=obs.index)
    return pd.DataFrame(
        {
            "lineage": lineage.to_numpy(),
            "state": state.fillna(UNASSIGNED).astype(str).to_numpy(),
            "parent": parent.fillna(lineage).astype(str).to_numpy(),
            "patient": patient.to_numpy(),
        },
        index=adata.obs_names,
    )


def gene_matrix(
    adata: ad.AnnData, genes: Sequence[str], *, chunk_size: int = DEFAULT_CHUNK
) -> ad.AnnData:
    """The columns of ``genes`` present in ``adata``, in memory (read a chunk at a time).

    Parameters
    ----------
    adata
        In memory or backed.
    genes
        Gene symbols; absent ones are left out.
    chunk_size
        Cells read at a time.

    Returns
    -------
    anndata.AnnData
        Cells x present genes (CSR), ``obs`` index only.
    """
    present = [g for g in dict.fromkeys(genes) if g in set(adata.var_names)]
    pos = adata.var_names.get_indexer(present)
    blocks = [block[:, pos] for _, _, block in iter_csr(adata, chunk_size)]
    x = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, len(pos)))
    return ad.AnnData(
        X=x, obs=pd.DataFrame(index=adata.obs_names.copy()), var=pd.DataFrame(index=present)
    )


def _group_sums(
    adata: ad.AnnData, positions: np.ndarray, codes: np.ndarray, n_groups: int, chunk_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and expressing-cell count per group x gene, one chunk of cells at a time."""
    sums = np.zeros((n_groups, len(positions)))
    nnz = np.zeros((n_groups, len(positions)))
    for start, stop, block in iter_csr(adata, chunk_size):
        sub = block[:, positions].tocsr().astype(np.float64)
        rows = codes[start:stop]
        keep = np.flatnonzero(rows >= 0)
        onehot = sp.csr_matrix(
            (np.ones(len(keep)), (rows[keep], keep)), shape=(n_groups, stop - start)
        )
        sums += np.asarray((onehot @ sub).todense())
        nnz += np.asarray((onehot @ (sub != 0).astype(np.float64)).todense())
    return sums, nnz


def _per_patient(
    adata: ad.AnnData, genes: list[str], groups: pd.DataFrame, chunk: int
) -> pd.DataFrame:
    """Long table per lineage x state x parent x patient x gene: n_cells, sum, n_expressing."""
    keys = ["lineage", "state", "parent", "patient"]
    combos = groups[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    codes = (
        groups[keys]
        .merge(combos.reset_index(), on=keys, how="left")["index"]
        .to_numpy(dtype=np.int64)
    )
    positions = adata.var_names.get_indexer(genes).astype(np.int64)
    sums, nnz = _group_sums(adata, positions, codes, len(combos), chunk)
    combos["n_cells"] = np.bincount(codes, minlength=len(combos))
    long = combos.loc[combos.index.repeat(len(genes))].reset_index(drop=True)
    long["gene"] = np.tile(genes, len(combos))
    long["sum"] = sums.ravel()
    long["n_expressing"] = nnz.ravel()
    return long


def level_keys(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """``frame`` (columns ``lineage``, ``state``, ``parent``) with the ``level``,
    ``compartment`` and ``parent`` of one level; ``unassigned`` rows dropped.

    Parameters
    ----------
    frame
        E.g. :func:`cell_groups`.
    level
        ``lineage`` (compartment = parent = the lineage) or ``state`` (compartment = the
        state, parent = its lineage).
    """
    comp, parent = ("lineage", "lineage") if level == LEVEL_LINEAGE else ("state", "parent")
    out = frame.assign(**{COL_COMPARTMENT: frame[comp], COL_PARENT: frame[parent]})
    return out[out[COL_COMPARTMENT] != UNASSIGNED].assign(**{COL_LEVEL: level})


def _summarise(long: pd.DataFrame, *, level: str, min_cells: int) -> pd.DataFrame:
    """One row per compartment x gene of one level, from the per-patient long table."""
    work = level_keys(long, level)
    keys = [COL_LEVEL, COL_COMPARTMENT, COL_PARENT, "gene"]
    by_patient = work.groupby([*keys, "patient"])[["n_cells", "sum"]].sum().reset_index()
    by_patient = by_patient[by_patient["n_cells"] >= min_cells]
    by_patient = by_patient.assign(pmean=by_patient["sum"] / by_patient["n_cells"])
    spread = by_patient.groupby(keys)["pmean"].agg(
        n_patients="size", mean_of_patient_means="mean", sd_of_patient_means="std"
    )
    out = work.groupby(keys)[["n_cells", "sum", "n_expressing"]].sum().join(spread)
    out = out.reset_index()
    out["n_patients"] = out["n_patients"].fillna(0).astype(int)
    out["n_cells"] = out["n_cells"].astype(int)
    out["mean"] = out["sum"] / out["n_cells"]
    out["fraction_expressing"] = out["n_expressing"] / out["n_cells"]
    return out


def group_gene_stats(
    adata: ad.AnnData,
    genes: Sequence[str],
    *,
    groups: pd.DataFrame,
    levels: Sequence[str],
    min_cells: int,
    chunk_size: int = DEFAULT_CHUNK,
) -> pd.DataFrame:
    """Per level x compartment x gene: cells, mean, fraction expressing, patient means.

    Parameters
    ----------
    adata
        Log-normalised ``X`` (in memory or backed); ``genes`` must be in ``var_names``.
    genes
        Genes to summarise.
    groups
        :func:`cell_groups` of ``adata``.
    levels
        ``lineage`` and/or ``state``.
    min_cells
        Cells a patient needs in a compartment to count in ``n_patients`` and the patient
        means.
    chunk_size
        Cells read at a time.

    Returns
    -------
    DataFrame
        ``level``, ``compartment``, ``parent``, ``gene``, ``n_cells``, ``mean``,
        ``fraction_expressing``, ``n_patients``, ``mean_of_patient_means``,
        ``sd_of_patient_means`` (sample SD; empty below two patients).
    """
    long = _per_patient(adata, list(genes), groups, chunk_size)
    parts = [_summarise(long, level=lv, min_cells=min_cells) for lv in levels]
    return pd.concat(parts, ignore_index=True)
