"""Control features of targeted panels: negative-control probes and blank codewords.

Imaging panels (MERFISH/MERSCOPE, Xenium, CosMx) ship their matrices with features that are
not genes: blank and unassigned codewords, negative-control probes, system controls. Their
counts measure decoding noise; kept as genes they would enter the genes detected per cell,
the normalisation, the PCA and the species check (``Blank-12`` looks like a mouse symbol).
:func:`drop_control_features` removes them from one file's matrix before its genes are
mapped, and records how many there were and what share of the counts they held (the
false-detection rate of the panel, reported, never used as expression).

A feature is a control when its name matches :data:`CONTROL_RE`, or when ``var`` has a
10x feature-type column (:data:`FEATURE_TYPE_COLUMNS`) gives it a type of
:data:`CONTROL_TYPES` (``Negative Control Probe``, ``Blank Codeword``... and also the
``Antibody Capture`` or ``CRISPR Guide Capture`` rows of a multi-modal file, which are not
RNA counts either).
"""

import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .rows import is_stream

__all__ = [
    "CONTROL_RE",
    "CONTROL_TYPES",
    "FEATURE_TYPE_COLUMNS",
    "IMAGING_TYPES",
    "control_mask",
    "drop_control_features",
]

#: Names of the control features of MERSCOPE (``Blank-7``), Xenium (``NegControlProbe_00042``,
#: ``NegControlCodeword_0500``, ``UnassignedCodeword_0001``, ``DeprecatedCodeword_...``,
#: ``BLANK_0006``, ``Intergenic_Region_12``), CosMx (``NegPrb3``, ``Negative12``,
#: ``SystemControl7``, ``FalseCode_4``) and ERCC spike-ins (``ERCC-00002``; not ``ERCC1``).
CONTROL_RE = re.compile(
    r"^(blank[-_ ]?\d+|ercc-\d{5}|neg_?control_?(probe|codeword)[-_ ]?.*|"
    r"unassigned_?codeword[-_ ]?.*|"
    r"deprecated_?codeword[-_ ]?.*|intergenic_?region[-_ ]?.*|neg_?prb[-_ ]?\d+|"
    r"negative[-_ ]?\d+|system_?control[-_ ]?\d+|false_?code[-_ ]?\d+)$",
    re.IGNORECASE,
)
#: ``var`` columns that give each feature's 10x type (not CELLxGENE's ``feature_type``, a
#: gene biotype such as ``lncRNA``: a gene all the same).
FEATURE_TYPE_COLUMNS = ("feature_types", "feature_type_10x")
#: 10x feature types that are not RNA counts of a gene (lower case).
CONTROL_TYPES = frozenset(
    {
        "negative control probe",
        "negative control codeword",
        "blank codeword",
        "unassigned codeword",
        "deprecated codeword",
        "genomic control",
        "antibody capture",
        "protein expression",
        "crispr guide capture",
        "multiplexing capture",
        "peaks",
    }
)
#: Controls only imaging panels carry: every name control but ERCC spike-ins, and these types.
IMAGING_TYPES = frozenset(t for t in CONTROL_TYPES if "codeword" in t or "control" in t)
_SPIKE_IN_RE = re.compile(r"^ercc-\d{5}$", re.IGNORECASE)
#: Control names shown in the record.
_SHOWN = 5


def _imaging(var: pd.DataFrame, mask: np.ndarray) -> bool:
    """Whether the controls of ``mask`` include an imaging panel's (not only spike-ins and
    non-RNA 10x features): the data then come from an imaging platform."""
    names = pd.Index(var.index.astype(str))[mask]
    if any(CONTROL_RE.match(n.strip()) and not _SPIKE_IN_RE.match(n.strip()) for n in names):
        return True
    col = next((c for c in FEATURE_TYPE_COLUMNS if c in var.columns), None)
    if col is None:
        return False
    types = var[col].astype(str).str.strip().str.lower().to_numpy()[mask]
    return bool(np.isin(types, list(IMAGING_TYPES)).any())


def control_mask(var: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Which features of ``var`` are controls, and by what rule.

    Parameters
    ----------
    var
        A file's ``var`` (its index: the feature names).

    Returns
    -------
    mask, rule
        A boolean per feature, and ``"name"``, ``"feature type (<column>)"``, both joined by
        ``" and "``, or ``""`` when there is none.
    """
    names = pd.Index(var.index.astype(str))
    by_name = np.fromiter((bool(CONTROL_RE.match(n.strip())) for n in names), bool, len(names))
    rules = ["name"] if by_name.any() else []
    mask = by_name
    for col in FEATURE_TYPE_COLUMNS:
        if col not in var.columns:
            continue
        types = var[col].astype(str).str.strip().str.lower().to_numpy()
        typed = np.isin(types, list(CONTROL_TYPES))
        if typed.any():
            mask = mask | typed
            rules.append(f"feature type ({col})")
        break
    return mask, " and ".join(rules)


def _count_share(counts: Any, mask: np.ndarray) -> float | None:
    """The controls' share of all counts (None for a matrix read in chunks)."""
    if is_stream(counts):
        return None
    m = sp.csr_matrix(counts)
    total = float(m.sum())
    if total <= 0:
        return 0.0
    return float(m[:, np.flatnonzero(mask)].sum()) / total


def drop_control_features(
    counts: Any, var: pd.DataFrame, decision: dict[str, Any]
) -> tuple[Any, pd.DataFrame, np.ndarray | None]:
    """Remove control features from one file's matrix and record them in ``decision``.

    Parameters
    ----------
    counts
        The file's matrix (cells × features: CSR, or a stream read in chunks).
    var
        Its ``var`` (one row per column of ``counts``).
    decision
        The file's matrix record (changed in place: ``control_features``,
        ``control_count_share`` and a note, when there are controls).

    Returns
    -------
    counts, var, kept
        Without the control features, and the positions of the features kept; unchanged and
        None when there is none, or when every feature would be one (then nothing is dropped
        and the genes are left to the later checks).
    """
    mask, rule = control_mask(var)
    n = int(mask.sum())
    if n == 0 or n == len(mask):
        return counts, var, None
    share = _count_share(counts, mask)
    keep = np.flatnonzero(~mask)
    names = [str(x) for x in var.index[mask][:_SHOWN]]
    decision["control_features"] = {
        "removed": n,
        "rule": rule,
        "examples": names,
        "imaging": _imaging(var, mask),
    }
    decision["control_count_share"] = None if share is None else round(share, 6)
    said = "" if share is None else f", {share:.2%} of the counts"
    decision.setdefault("notes", []).append(
        f"{n} control features removed by {rule} (negative-control probes, blank or "
        f"unassigned codewords, spike-ins or non-RNA features, e.g. {', '.join(names[:3])}{said}); "
        "they are not genes and are never scored"
    )
    if is_stream(counts):
        return counts.then(lambda b: sp.csr_matrix(b)[:, keep], len(keep)), var.iloc[keep], keep
    return sp.csr_matrix(counts)[:, keep], var.iloc[keep], keep
