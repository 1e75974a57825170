"""Where a dataset's raw counts are: :func:`find_counts`.

Every place counts may be (layers, ``.raw``, ``X``) is classified with
:func:`~tmesig.io.detect_matrix_state`; the first holding counts is taken, counts are
recovered from ``log1p``-normalised or normalised (CPM, CP10k) values when that is exact,
log-normalised values are kept as they are when the normalised input mode is asked for, and
everything else is refused with a message naming the fix. The chosen matrix is then checked
cell by cell (:func:`~tmesig.io.check_cells`).
"""

from dataclasses import asdict
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .cell_checks import check_cells
from .errors import InputError
from .matrix_state import STATE_WORDS, MatrixState, detect_matrix_state
from .recover import recovered as _recovered
from .rows import is_stream

__all__ = ["COUNT_STATES", "LOG_STATES", "find_counts"]

#: States that hold counts (or values tmesig treats as counts) without any flag.
COUNT_STATES = ("counts", "corrected_counts", "half_integer_counts")
#: Log-scale states kept as they are in the normalised input mode.
LOG_STATES = ("log1p_normalized", "log_unknown", "log2_tpm")
#: Candidates inspected before any other layer.
_STANDARD = ("layers/counts", "layers/raw_counts", "raw", "X")
#: The fix offered whenever log-normalised values cannot be turned back into counts.
NORMALISED_FIX = (
    "to analyse log-normalised values without counts set ingest.input_mode: normalised in the "
    "config (QC on counts and doublet calls are then not possible)"
)


def _map_rows(x: Any, fn: Any) -> Any:
    """``fn(x)``, or ``fn`` added as a step of a stream."""
    return x.then(fn) if is_stream(x) else fn(x)


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
    if adata.X is not None:  # X=None with the counts in a layer is a valid AnnData
        out.append(("X", adata.X, adata.var))
    return out


def _ordered_candidates(adata: ad.AnnData, source: str) -> list[Candidate]:
    """The candidates to inspect: only ``source`` when forced, else standard places first."""
    candidates = _candidates(adata)
    available = [c[0] for c in candidates]
    if not candidates:
        msg = (
            "the file holds no expression matrix (X is empty and there is no layer or .raw); "
            "write the counts into X or layers['counts'] and save the file again"
        )
        raise InputError(msg)
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


def _non_counts(
    candidates: list[Candidate],
    states: dict[str, MatrixState],
    decision: dict[str, Any],
    *,
    allow_non_counts: bool,
    accept_log: bool,
) -> Candidate | None:
    """TPM-like values (``allow_non_counts``) or log values as they are (``accept_log``)."""
    for name, x, var in candidates:
        st = states[name].state
        if accept_log and st in (*LOG_STATES, "normalized"):
            if st == "normalized":
                note = "log1p-transformed and used as expression (ingest.input_mode: normalised)"
                return _as_values(name, x, var, decision, st, np.log1p, note, normalised=True)
            note = "kept as the expression values (ingest.input_mode: normalised)"
            return _as_values(name, x, var, decision, st, None, note, normalised=True)
        if allow_non_counts and st in ("log2_tpm", "normalized"):
            unlog = (lambda d: np.exp2(d) - 1.0) if st == "log2_tpm" else None
            note = (
                "used as expression because ingest.allow_non_counts is true; QC thresholds "
                "on counts and doublet calls are not meaningful on them"
            )
            return _as_values(name, x, var, decision, st, unlog, note, normalised=False)
    return None


def _as_values(name, x, var, decision, state, transform, note, *, normalised):
    """Take a non-count matrix as the expression values (``transform`` on its data) and
    record the decision and its note."""

    def values(block):
        m = sp.csr_matrix(block, dtype=np.float64).copy()
        if transform is not None:
            m.data = transform(m.data)
        return m

    m = _map_rows(x, values)
    decision.update(source=name, state=state, recovered=False, non_counts=True)
    decision["normalised"] = normalised
    decision.setdefault("notes", []).append(f"{name}: {STATE_WORDS[state]} {note}")
    return name, m, var


def _choose_counts(
    candidates: list[Candidate], states: dict[str, MatrixState], decision: dict[str, Any]
) -> Candidate | None:
    """The candidate holding counts, mixed scales (refused later) or recoverable counts, with
    the matrix to use (recovered); records why."""
    for wanted in COUNT_STATES:
        for name, x, var in candidates:
            if states[name].state == wanted:
                decision.update(
                    source=name, state=wanted, recovered=False, non_counts=False, normalised=False
                )
                if wanted == "half_integer_counts":
                    decision.setdefault("notes", []).append(
                        f"{name}: {STATE_WORDS[wanted]}; used as counts"
                    )
                return name, x, var
    for name, x, var in candidates:  # refused by check_cells, naming the cells of each kind
        if states[name].state == "mixed":
            decision.update(source=name, state="mixed", recovered=False, non_counts=False)
            return name, x, var
    return _recovered(candidates, states, decision)


def _groups(candidates: list[Candidate]) -> list[list[Candidate]]:
    """The candidates in the order they are tried: ``.raw`` first when it holds more genes
    than ``X`` (scanpy's ``adata.raw = adata`` before subsetting to variable genes), then the
    other standard places, then any other layer."""
    n_x = max((len(v) for name, _, v in candidates if name != "raw"), default=0)
    wide = [c for c in candidates if c[0] == "raw" and len(c[2]) > n_x]
    standard = [c for c in candidates if c[0] in _STANDARD and c not in wide]
    return [wide, standard, [c for c in candidates if c[0] not in _STANDARD]]


def _choose(
    candidates: list[Candidate],
    states: dict[str, MatrixState],
    decision: dict[str, Any],
    *,
    source: str,
    options: dict[str, bool],
) -> Candidate | None:
    """Counts from the standard places (recovered ones included; ``.raw`` first when it has
    more genes), then from another layer (velocyto's 'spliced': noted), then non-count values
    as allowed."""
    notes = decision.setdefault("notes", [])
    for group in _groups(candidates) if source == "auto" else [candidates]:
        chosen = _choose_counts(group, states, decision)
        if chosen is None:
            continue
        if chosen[0] not in _STANDARD and source == "auto":
            notes.append(
                f"{chosen[0]}: counts read from this layer, as no standard place "
                "(layers['counts'], .raw, X) holds counts or recoverable counts; check that it "
                "holds every count of each cell (velocyto's 'spliced' layer holds only the "
                "spliced reads)"
            )
        wider = (
            max(len(v) for name, _, v in candidates if name == "raw") if states.get("raw") else 0
        )
        if wider > len(chosen[2]):
            notes.append(
                f"{chosen[0]}: counts of {len(chosen[2])} genes; .raw holds {wider} genes but "
                f"{STATE_WORDS.get(states['raw'].state, states['raw'].state)} (no counts can "
                "be recovered from them): the other genes are not analysed"
            )
        return chosen
    return _non_counts(candidates, states, decision, **options)


def _columns(
    adata: ad.AnnData, chosen: Candidate, decision: dict[str, Any]
) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """The chosen matrix as CSR float32 and the ``var`` of its columns (``.raw`` aligned to X)."""
    name, x, var = chosen
    m = _map_rows(x, lambda b: sp.csr_matrix(b, dtype=np.float32))
    if var.index.equals(adata.var.index):
        decision["genes_from"] = "X"
        return m, adata.var
    if name == "raw" and var.index.is_unique and adata.var.index.isin(var.index).all():
        extra = int(len(var.index) - len(adata.var.index))
        decision["genes_from"] = "raw"
        decision["raw_genes_not_in_X"] = extra
        if extra == 0:  # the same genes in another order: align to X
            pos = var.index.get_indexer(adata.var.index)
            return _map_rows(m, lambda b: sp.csr_matrix(b[:, pos])), adata.var
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
    seen = {v.state for v in states.values()}
    if seen & {*LOG_STATES, "normalized"}:
        fix += "; " + NORMALISED_FIX
    if seen & {"log2_tpm", "normalized"} and not allow_non_counts:
        fix += "; to score TPM data anyway set ingest.allow_non_counts: true in the config"
    if "non_finite" in seen:
        fix += "; NaN/inf values mean a broken export - repair or re-export the matrix"
    return InputError(f"no raw counts found ({found}). {fix}")


def _note_half_precision(chosen: Candidate, decision: dict[str, Any]) -> None:
    """Note counts stored as float16: above 2048 they were rounded (2049 is kept as 2048)."""
    top = decision["cells"]["max_value"]
    if getattr(chosen[1], "dtype", None) != np.float16 or top <= 2048:
        return
    decision.setdefault("notes", []).append(
        f"{chosen[0]}: stored as float16 (half precision), which holds whole numbers exactly "
        f"only up to 2048 (largest value here {top:.0f}): larger counts were rounded when the "
        "file was written (by less than 0.05 %); export the counts as integers or float32 "
        "for exact values"
    )


def find_counts(
    adata: ad.AnnData,
    *,
    source: str = "auto",
    allow_non_counts: bool = False,
    accept_log: bool = False,
    groups: pd.Series | None = None,
) -> tuple[sp.csr_matrix, pd.DataFrame, dict[str, Any]]:
    """Find or recover raw counts in ``adata``.

    Candidates are inspected in this order: ``layers["counts"]``, ``layers["raw_counts"]``,
    ``raw.X``, ``X`` (when not None; ``raw.X`` first when it holds more genes than ``X``),
    then any other layer only when none of these serves. The first holding integer counts
    wins; otherwise count-like corrected (or half-integer) values are used; otherwise counts
    are recovered from ``log1p`` of normalised counts, from normalised counts (CPM, CP10k) or
    from log values of another scale (``log1p`` or ``log2(x + 1)`` of counts or of counts
    over size factors) when every cell's smallest non-zero value is one count (checked:
    recovered values must be integers; :mod:`tmesig.io.recover`); otherwise, with
    ``allow_non_counts``, log2(TPM+1) (un-logged) or CPM/TPM values are used, or with
    ``accept_log`` log-scale values are kept as they are.
    Everything else is refused. The chosen matrix is checked cell by cell before its
    conversion to float32 (:func:`~tmesig.io.check_cells`).

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
    accept_log
        Keep log-normalised values (un-logged CPM: ``log1p``-transformed) when no counts can
        be found or recovered (``ingest.input_mode: normalised``);
        ``decision["normalised"]`` is then true.
    groups
        Sample label of each cell, to count the cells of each kind per sample when the
        matrix mixes scales.

    Returns
    -------
    counts, var, decision
        CSR float32 counts (or log values), the ``var`` frame of their columns and a record
        of every candidate's state, the choice and the per-cell evidence. The columns are
        ``adata.var`` except when ``.raw`` is chosen and holds more genes than ``X``: then
        they are ``adata.raw.var`` (``decision["genes_from"] == "raw"``; nothing is dropped).

    Raises
    ------
    InputError
        When no candidate holds counts or recoverable counts, or the chosen matrix holds
        NaN, infinite or absurd values, or mixes scales.
    """
    candidates = _ordered_candidates(adata, source)
    states = {name: detect_matrix_state(x) for name, x, _ in candidates}
    decision: dict[str, Any] = {
        "requested": source,
        "allow_non_counts": allow_non_counts,
        "candidates": {k: asdict(v) for k, v in states.items()},
    }
    options = {"allow_non_counts": allow_non_counts, "accept_log": accept_log}
    chosen = _choose(candidates, states, decision, source=source, options=options)
    if chosen is None:
        raise _no_counts_error(states, allow_non_counts)
    decision["cells"] = check_cells(
        chosen[1], source=chosen[0], names=adata.obs_names, groups=groups
    )
    _note_half_precision(chosen, decision)
    m, var = _columns(adata, chosen, decision)
    return m, var, decision
