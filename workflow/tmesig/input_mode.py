"""The kind of matrix a run works on: counts, log-normalised values, or a targeted panel.

``counts``
    Raw counts (``X`` of ``ingested.h5ad`` and ``clustered.h5ad``) over (most of) the
    transcriptome: every step as usual.
``normalised``
    Log-normalised values whose counts cannot be recovered (``X`` holds them as given): QC
    on genes detected (and mitochondrial share), no doublet detection,
    clustering and scoring on the given values.
``panel``
    Counts of a targeted panel (MERFISH, Xenium, CosMx: a few hundred genes): QC floors scaled
    to the panel, all genes used for the PCA, lineage markers taken from a broader candidate
    list intersected with the panel.

Ingest records its decision in ``adata.uns["tmesig_ingest"]`` (a JSON string or a mapping,
key ``input_mode``); QC resolves the mode once (:func:`resolve_input_mode`, with the config's
``ingest.input_mode``) and stores it in ``adata.uns["tmesig_input_mode"]``, which every later
stage reads with :func:`input_mode`.
"""

import json
from collections.abc import Mapping
from typing import Any

import anndata as ad

__all__ = [
    "COUNTS",
    "INPUT_MODES",
    "NORMALISED",
    "PANEL",
    "PANEL_MAX_GENES",
    "REQUESTED_MODES",
    "decide_input_mode",
    "ingest_record",
    "input_mode",
    "resolve_input_mode",
    "store_input_mode",
]

COUNTS = "counts"
NORMALISED = "normalised"
PANEL = "panel"
#: The modes a run can be in.
INPUT_MODES: tuple[str, ...] = (COUNTS, NORMALISED, PANEL)
#: The values of the config key ``ingest.input_mode``.
REQUESTED_MODES: tuple[str, ...] = ("auto", *INPUT_MODES)
#: With ``auto``, counts over fewer genes than this (at ingest) are a targeted panel.
PANEL_MAX_GENES = 1000

_RESOLVED_KEY = "tmesig_input_mode"


def ingest_record(adata: ad.AnnData) -> Mapping[str, Any]:
    """The ingest summary stored in ``uns`` (a JSON string or a mapping), or ``{}``.

    Parameters
    ----------
    adata
        Ingested data, or data of a later stage (``uns["tmesig_ingest"]``).
    """
    raw = adata.uns.get("tmesig_ingest")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, Mapping) else {}


def resolve_input_mode(adata: ad.AnnData, *, requested: str = "auto") -> str:
    """Decide the input mode from the ingest record, the config and the data.

    Data ingest recorded as ``normalised`` (log-normalised values kept, no counts) stay
    ``normalised``; without an ingest record, data without a ``counts`` layer are
    ``normalised``. With counts, ``panel`` (requested, or recorded
    by ingest) is a panel, ``counts`` is counts, and with ``auto`` a matrix of fewer than
    :data:`PANEL_MAX_GENES` genes at ingest is a ``panel``. ``normalised`` requested while
    ingest found counts means counts: ingest decides what the matrix holds.

    Parameters
    ----------
    adata
        Ingested data (``uns["tmesig_ingest"]`` when it comes from the ingest stage).
    requested
        The config's ``ingest.input_mode``: ``auto``, ``counts``, ``normalised`` or ``panel``.

    Returns
    -------
    str
        One of :data:`INPUT_MODES`.

    Raises
    ------
    ValueError
        If ``requested`` is not one of :data:`REQUESTED_MODES`.
    """
    if requested not in REQUESTED_MODES:
        msg = f"input mode {requested!r} is not one of {list(REQUESTED_MODES)}"
        raise ValueError(msg)
    record = ingest_record(adata)
    # ingest records the mode it found; without a record, no counts layer means normalised
    if record.get("input_mode", NORMALISED if "counts" not in adata.layers else None) == NORMALISED:
        return NORMALISED
    if record.get("input_mode") == PANEL:
        return PANEL
    # with counts, ``normalised`` requested means counts: ingest decides what the matrix holds
    asked = COUNTS if requested == NORMALISED else requested
    n_genes = int(record.get("genes", adata.n_vars))
    return decide_input_mode(normalised=False, n_genes=n_genes, requested=asked)


def decide_input_mode(
    *, normalised: bool, n_genes: int, requested: str = "auto", imaging: bool = False
) -> str:
    """The input mode from what ingest found (the one rule ingest and QC both apply).

    Parameters
    ----------
    normalised
        Ingest kept log-normalised values (no counts could be recovered).
    n_genes
        Genes of the ingested matrix.
    requested
        The config's ``ingest.input_mode``.
    imaging
        Ingest found an imaging platform's control features (blank codewords,
        negative-control probes: :mod:`tmesig.io.controls`), whatever the number of genes
        (Xenium 5K, CosMx 6K panels).

    Returns
    -------
    str
        ``normalised`` for kept log values; else ``panel`` when requested, or with ``auto``
        (or ``normalised`` requested) for fewer than :data:`PANEL_MAX_GENES` genes or
        ``imaging``; else ``counts``.
    """
    if normalised:
        return NORMALISED
    small = n_genes < PANEL_MAX_GENES or imaging
    if requested == PANEL or (requested != COUNTS and small):
        return PANEL
    return COUNTS


def input_mode(adata: ad.AnnData) -> str:
    """The input mode of a run, as resolved at QC (``counts`` when nothing is recorded).

    Parameters
    ----------
    adata
        Data from the QC stage or later (``uns["tmesig_input_mode"]``), or ingested data
        (``uns["tmesig_ingest"]["input_mode"]``).

    Returns
    -------
    str
        One of :data:`INPUT_MODES`.
    """
    mode = adata.uns.get(_RESOLVED_KEY)
    if mode is None:
        mode = ingest_record(adata).get("input_mode", COUNTS)
    mode = str(mode)
    return mode if mode in INPUT_MODES else COUNTS


def store_input_mode(adata: ad.AnnData, mode: str) -> None:
    """Record the resolved mode in ``adata.uns`` for the later stages (in place).

    Parameters
    ----------
    adata
        The data the QC stage writes.
    mode
        One of :data:`INPUT_MODES`.
    """
    if mode not in INPUT_MODES:
        msg = f"input mode {mode!r} is not one of {list(INPUT_MODES)}"
        raise ValueError(msg)
    adata.uns[_RESOLVED_KEY] = mode
