"""What a matrix holds (counts, log-normalised, TPM...) and where a dataset's raw counts are.

:func:`detect_matrix_state` classifies one matrix; :func:`find_counts` inspects every place
counts may be (layers, ``.raw``, ``X``), picks the first holding counts, recovers counts
from ``log1p``-normalised values when that is exact, and refuses everything else with a
message naming the fix.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import InputError

__all__ = ["MatrixState", "detect_matrix_state", "find_counts"]

#: Number of cells inspected when deciding what a matrix holds.
_PROBE_CELLS = 2000
#: States that hold counts (or values tmesig treats as counts) without any flag.
_COUNT_STATES = ("counts", "corrected_counts")
#: Candidates inspected before any other layer.
_STANDARD = ("layers/counts", "layers/raw_counts", "raw", "X")


@dataclass
class MatrixState:
    """What a matrix holds and the evidence for that decision.

    Attributes
    ----------
    state
        One of ``counts`` (non-negative integers), ``corrected_counts`` (non-negative,
        non-integer, count-like: values too large to be logarithms, totals varying between
        cells), ``normalized`` (non-integer, unlogged, the same total in every cell: CPM/TPM),
        ``log1p_normalized`` (``log1p`` of counts scaled to a constant total per cell),
        ``log2_tpm`` (``log2(TPM + 1)``), ``log_unknown`` (small non-negative non-integers of
        unknown scale), ``scaled`` (negative values present), ``non_finite`` (NaN or
        infinite values), ``all_zero`` or ``empty``.
    evidence
        Numbers behind the decision (fraction of integer values, minimum, maximum,
        coefficient of variation of back-transformed totals...).
    """

    state: str
    evidence: dict[str, Any] = field(default_factory=dict)


#: What each state means, for messages.
STATE_WORDS = {
    "counts": "raw integer counts",
    "corrected_counts": "count-like non-integer values (e.g. ambient-corrected counts)",
    "normalized": "normalised values with the same total per cell (CPM/TPM), not counts",
    "log1p_normalized": "log1p-normalised values",
    "log2_tpm": "log2(TPM+1) values",
    "log_unknown": "log-scale values of unknown normalisation",
    "scaled": "negative values (scaled/centred data, or corrupt negative counts)",
    "non_finite": "NaN or infinite values",
    "all_zero": "only zeros",
    "empty": "no cells or no genes",
}


def _probe_rows(x: Any, *, n: int = _PROBE_CELLS) -> sp.csr_matrix:
    """Return at most ``n`` evenly spaced rows of ``x`` as CSR float64 (deterministic)."""
    n_obs = x.shape[0]
    idx = np.unique(np.linspace(0, n_obs - 1, num=min(n, n_obs)).astype(int)) if n_obs else []
    sub = x[idx]
    m = (
        sp.csr_matrix(sub, dtype=np.float64)
        if not sp.issparse(sub)
        else sp.csr_matrix(sub.tocsr(), dtype=np.float64)
    )
    m.eliminate_zeros()
    return m


def detect_matrix_state(x: Any) -> MatrixState:
    """Decide what a cells × genes matrix holds.

    Parameters
    ----------
    x
        Dense or sparse matrix (cells × genes).

    Returns
    -------
    MatrixState
        The decision and its evidence. Only a probe of evenly spaced cells is read
        (``evidence["cells_probed"]``); :func:`ingest` re-checks the chosen matrix in full.
    """
    if x.shape[0] == 0 or x.shape[1] == 0:
        return MatrixState("empty", {"shape": [int(s) for s in x.shape]})
    m = _probe_rows(x)
    data = m.data
    ev: dict[str, Any] = {"cells_probed": int(m.shape[0]), "nonzero_values": int(data.size)}
    finite = np.isfinite(data)
    if not np.all(finite):
        ev["non_finite_values"] = int((~finite).sum())
        return MatrixState("non_finite", ev)
    if data.size == 0:
        return MatrixState("all_zero", ev)
    ev.update(min=float(data.min()), max=float(data.max()))
    frac_int = float(np.mean(np.abs(data - np.round(data)) < 1e-6))
    ev["fraction_integer"] = round(frac_int, 6)
    if ev["min"] < 0:
        ev["negative_values"] = int((data < 0).sum())
        return MatrixState("scaled", ev)
    if frac_int == 1.0:
        return MatrixState("counts", ev)
    rows = np.asarray(m.sum(axis=1)).ravel()
    nz = rows > 0
    if ev["max"] > 30:
        # log-scale values of expression never reach 30 (e^30 ~ 1e13 counts).
        cv = float(np.std(rows[nz]) / np.mean(rows[nz]))
        ev["cv_total"] = round(cv, 6)
        if cv < 1e-3 and nz.sum() > 1:
            ev["median_total"] = float(np.median(rows[nz]))
            return MatrixState("normalized", ev)
        return MatrixState("corrected_counts", ev)
    rows_e = np.asarray(m.expm1().sum(axis=1)).ravel()
    m2 = m.copy()
    m2.data = np.exp2(m2.data) - 1.0
    rows_2 = np.asarray(m2.sum(axis=1)).ravel()
    nz = rows_e > 0
    cv_e = float(np.std(rows_e[nz]) / np.mean(rows_e[nz]))
    cv_2 = float(np.std(rows_2[nz]) / np.mean(rows_2[nz]))
    ev["cv_total_expm1"] = round(cv_e, 6)
    ev["cv_total_exp2m1"] = round(cv_2, 6)
    if cv_e < 1e-2 and nz.sum() > 1:
        ev["target_sum"] = float(np.median(rows_e[nz]))
        return MatrixState("log1p_normalized", ev)
    if (cv_2 < 1e-2 and nz.sum() > 1) or abs(np.median(rows_2[nz]) / 1e6 - 1) < 0.05:
        ev["median_total_exp2m1"] = float(np.median(rows_2[nz]))
        return MatrixState("log2_tpm", ev)
    return MatrixState("log_unknown", ev)


def _recover_counts_from_log1p(x: Any) -> tuple[sp.csr_matrix, float]:
    """Invert ``log1p(counts / s_i * target)``: the smallest non-zero value of a cell is one count.

    Returns the recovered counts and the largest distance of any value from an integer.
    """
    m = sp.csr_matrix(x, dtype=np.float64).copy()
    m.eliminate_zeros()
    m.data = np.expm1(m.data)
    mins = np.full(m.shape[0], np.inf)
    for i in range(m.shape[0]):
        row = m.data[m.indptr[i] : m.indptr[i + 1]]
        if row.size and np.any(row > 0):
            mins[i] = row[row > 0].min()
    scale = np.where(np.isfinite(mins), 1.0 / mins, 1.0)
    m = sp.csr_matrix(sp.diags(scale) @ m)
    err = float(np.max(np.abs(m.data - np.round(m.data)))) if m.nnz else 0.0
    m.data = np.round(m.data)
    return m, err


Candidate = tuple[str, Any, pd.DataFrame]


def _candidates(adata: ad.AnnData) -> list[Candidate]:
    """(name, matrix, var) of every place counts may be, in the order they are preferred."""
    out: list[Candidate] = []
    for name in ("counts", "raw_counts"):
        if name in adata.layers:
            out.append((f"layers/{name}", adata.layers[name], adata.var))
    for name in adata.layers:
        if name not in ("counts", "raw_counts"):
            out.append((f"layers/{name}", adata.layers[name], adata.var))
    if adata.raw is not None:
        out.append(("raw", adata.raw.X, adata.raw.var))
    out.append(("X", adata.X, adata.var))
    return out


def _ordered_candidates(adata: ad.AnnData, source: str) -> list[Candidate]:
    """The candidates to inspect: only ``source`` when forced, else standard places first."""
    candidates = _candidates(adata)
    available = [c[0] for c in candidates]
    if source != "auto":
        candidates = [c for c in candidates if c[0] == source]
        if not candidates:
            msg = (
                f"matrix source {source!r} set in the config (ingest.matrix_source) is not in "
                f"the dataset (it has: {', '.join(available)}); set ingest.matrix_source to "
                "'auto' or one of those"
            )
            raise InputError(msg)
    elif len(candidates) > 1:
        # other layers are only looked at when nothing standard holds counts
        candidates = [c for c in candidates if c[0] in _STANDARD] + [
            c for c in candidates if c[0] not in _STANDARD
        ]
    return candidates


def _choose(
    candidates: list[Candidate],
    states: dict[str, MatrixState],
    decision: dict[str, Any],
    allow_non_counts: bool,
) -> Candidate | None:
    """The chosen candidate with the matrix to use (recovered or un-logged); records why."""
    for wanted in _COUNT_STATES:
        for name, x, var in candidates:
            if states[name].state == wanted:
                decision.update(source=name, state=wanted, recovered=False, non_counts=False)
                return name, x, var
    for name, x, var in candidates:
        if states[name].state == "log1p_normalized":
            rec, err = _recover_counts_from_log1p(x)
            if err < 0.01:
                decision.update(
                    source=name,
                    state="log1p_normalized",
                    recovered=True,
                    non_counts=False,
                    max_rounding_error=err,
                )
                return name, rec, var
            decision.setdefault("notes", []).append(
                f"{name}: log1p-normalised but counts not recoverable (rounding error {err:.3g})"
            )
    if allow_non_counts:
        for name, x, var in candidates:
            st = states[name].state
            if st in ("log2_tpm", "normalized"):
                m = sp.csr_matrix(x, dtype=np.float64).copy()
                if st == "log2_tpm":
                    m.data = np.exp2(m.data) - 1.0
                decision.update(source=name, state=st, recovered=False, non_counts=True)
                decision.setdefault("notes", []).append(
                    f"{name}: {STATE_WORDS[st]} used as expression because "
                    "ingest.allow_non_counts is true; QC thresholds on counts and doublet calls "
                    "are not meaningful on them"
                )
                return name, m, var
    return None


def _columns(
    adata: ad.AnnData, chosen: Candidate, decision: dict[str, Any]
) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """The chosen matrix as CSR float32 and the ``var`` of its columns (``.raw`` aligned to X)."""
    name, x, var = chosen
    m = sp.csr_matrix(x, dtype=np.float32)
    if var.index.equals(adata.var.index):
        decision["genes_from"] = "X"
        return m, adata.var
    if name == "raw" and var.index.is_unique and adata.var.index.isin(var.index).all():
        extra = int(len(var.index) - len(adata.var.index))
        decision["genes_from"] = "raw"
        decision["raw_genes_not_in_X"] = extra
        if extra == 0:  # the same genes in another order: align to X
            pos = var.index.get_indexer(adata.var.index)
            return sp.csr_matrix(m[:, pos]), adata.var
        return m, var
    decision["genes_from"] = name
    return m, var


def _no_counts_error(states: dict[str, MatrixState], allow_non_counts: bool) -> InputError:
    """The refusal when no candidate holds counts, naming what each holds and the fix."""
    if all(v.state in ("all_zero", "empty") for v in states.values()):
        msg = (
            "every count is zero (or the matrix is empty); the file holds no expression - "
            "check the export"
        )
        return InputError(msg)
    found = "; ".join(f"{k} holds {STATE_WORDS.get(v.state, v.state)}" for k, v in states.items())
    fix = (
        "tmesig needs raw UMI/read counts: put them in X, .raw or layers['counts'] (for GEO "
        "uploads, use the authors' count matrix rather than log-normalised, TPM or scaled values)"
    )
    if any(v.state in ("log2_tpm", "normalized") for v in states.values()) and not allow_non_counts:
        fix += "; to score TPM data anyway set ingest.allow_non_counts: true in the config"
    if any(v.state == "non_finite" for v in states.values()):
        fix += "; NaN/inf values mean a broken export - repair or re-export the matrix"
    return InputError(f"no raw counts found ({found}). {fix}")


def find_counts(
    adata: ad.AnnData, *, source: str = "auto", allow_non_counts: bool = False
) -> tuple[sp.csr_matrix, pd.DataFrame, dict[str, Any]]:
    """Find or recover raw counts in ``adata``.

    Candidates are inspected in this order: ``layers["counts"]``, ``layers["raw_counts"]``,
    ``raw.X``, ``X``, then any other layer. The first holding integer counts wins;
    otherwise count-like corrected values are used; otherwise counts are recovered from
    ``log1p`` of normalised counts when every cell's smallest non-zero value is one count
    (checked: recovered values must be integers); otherwise, only with
    ``allow_non_counts``, log2(TPM+1) (un-logged) or CPM/TPM values are used. Everything
    else is refused.

    Parameters
    ----------
    adata
        The dataset as read.
    source
        ``"auto"`` or the name of one candidate (``"X"``, ``"raw"``, ``"layers/<name>"``)
        to force it (the config's ``ingest.matrix_source``).
    allow_non_counts
        Accept TPM-like values when no counts are found (the config's
        ``ingest.allow_non_counts``).

    Returns
    -------
    counts, var, decision
        CSR float32 counts, the ``var`` frame of their columns and a record of every
        candidate's state and the choice. The columns are ``adata.var`` except when ``.raw``
        is chosen and holds more genes than ``X``: then they are ``adata.raw.var``
        (``decision["genes_from"] == "raw"``; nothing is dropped).

    Raises
    ------
    InputError
        When no candidate holds counts or recoverable counts.
    """
    candidates = _ordered_candidates(adata, source)
    states = {name: detect_matrix_state(x) for name, x, _ in candidates}
    decision: dict[str, Any] = {
        "requested": source,
        "allow_non_counts": allow_non_counts,
        "candidates": {k: asdict(v) for k, v in states.items()},
    }
    chosen = _choose(candidates, states, decision, allow_non_counts)
    if chosen is None:
        raise _no_counts_error(states, allow_non_counts)
    m, var = _columns(adata, chosen, decision)
    return m, var, decision
