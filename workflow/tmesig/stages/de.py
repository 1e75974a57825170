"""Stage ``de``: gene-level condition comparison per lineage and state (rule ``de``).

Inputs
    ``clustered``: ``clustered.h5ad`` (``obs`` patient / condition; the stored counts ``X``
    summed, streamed chunk by chunk with h5py; without counts the log values averaged:
    normalised input streamed as stored, a panel's counts opened backed and log-normalised a
    chunk at a time, never held whole);
    ``annotation``: ``annotation.tsv`` (``compartment``, and ``state`` / ``parent`` when the
    subset stage made them); ``library_gmt``, ``hallmark_gmt``: the gene sets.
Outputs
    ``de_conditions``: ``de_conditions.tsv`` (:func:`tmesig.de.compare_genes`);
    ``enrichment_conditions``: ``enrichment_conditions.tsv``
    (:func:`tmesig.de.prerank_conditions`); floats as ``%.6g``. Without two conditions both
    hold one ``note`` saying so.
Params
    ``conditions``: the config's ``conditions`` section (``reference``, ``test``,
    ``min_cells``, ``min_patients``, ``alpha``); ``enrichment``: its ``enrichment`` section
    with the seed (``permutation_num``, ``min_size``, ``max_size``).
"""

import anndata as ad
import h5py
import pandas as pd

from .. import conditions, de, signatures
from ..constants import (
    COL_COMPARTMENT,
    COL_CONDITION,
    COL_PARENT,
    COL_PATIENT,
    COL_SAMPLE,
    COL_STATE,
    LEVEL_LINEAGE,
    LEVEL_STATE,
)
from ..input_mode import COUNTS, input_mode
from ..io.errors import InputError
from ..io.expression import EXPRESSION_KEY, read_expression
from ._io import StageIO

__all__ = ["run"]

_NO_TEST = "no compartment had enough patients per condition for a test (see de_conditions.tsv)"


def _write(table: pd.DataFrame, path: str) -> None:
    table.to_csv(path, sep="\t", index=False, float_format="%.6g")


def _groups(annotation: pd.DataFrame) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Per level the cells' compartment labels, and each state's parent lineage."""
    groups = {LEVEL_LINEAGE: annotation[COL_COMPARTMENT]}
    parents: dict[str, str] = {}
    if COL_STATE in annotation.columns:
        groups[LEVEL_STATE] = annotation[COL_STATE]
        if COL_PARENT in annotation.columns:
            pairs = annotation[[COL_STATE, COL_PARENT]].astype(str)
            parents = pairs.groupby(COL_STATE)[COL_PARENT].agg(lambda s: s.mode().iloc[0]).to_dict()
    return groups, parents


def _source(path: str, uns: dict) -> tuple[object, str | None, bool, str]:
    """What to aggregate: the file, or the file opened backed (a panel's counts, log-normalised
    chunk by chunk), the layer, whether it holds counts (pydeseq2 applies), and the note
    saying why not."""
    mode = input_mode(ad.AnnData(uns=uns))
    stored = uns.get(EXPRESSION_KEY)
    if mode == COUNTS:
        if stored is not None:  # clustered.h5ad stores the counts as X
            return path, None, True, ""
        with h5py.File(path, "r") as f:
            if "layers" in f and "counts" in f["layers"]:
                return path, "counts", True, ""
    why = (
        f"input {mode}: pydeseq2 needs whole-transcriptome raw counts, so each gene was "
        "compared with a t-test on the patients' mean log values (no counts invented)"
    )
    if stored is not None and stored.get("transform") != "none":  # panel counts: log values
        return read_expression(path, backed=True), None, False, why
    return path, None, False, why


def run(io: StageIO) -> str:
    """Pseudobulk, compare the conditions gene by gene, rank into prerank; write both tables.

    Parameters
    ----------
    io : StageIO
        Inputs ``clustered``, ``annotation``, ``library_gmt``, ``hallmark_gmt``; outputs
        ``de_conditions``, ``enrichment_conditions``; params ``conditions``, ``enrichment``.

    Returns
    -------
    str
        ``"<genes> gene tests in <k> compartments, <rows> enrichment rows"`` or
        ``"gene-level comparison: none"``.
    """
    path, p = io.input["clustered"], io.params["conditions"]
    obs, genes, uns = de.read_obs(path)
    condition = obs[COL_CONDITION].astype(str)
    try:
        contrast = conditions.resolve_contrast(
            condition.unique(), reference=p["reference"], test=p["test"]
        )
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None
    if contrast is None:
        for name in ("de_conditions", "enrichment_conditions"):
            _write(
                pd.DataFrame({"note": [conditions.no_contrast_note(condition.unique())]}),
                io.output[name],
            )
        return "gene-level comparison: none"
    if COL_SAMPLE in obs.columns:
        contrast = conditions.with_unit_note(
            contrast, patient=obs[COL_PATIENT], sample=obs[COL_SAMPLE]
        )
    opts = de.DeOptions.from_config(p, io.params["enrichment"], threads=io.threads)
    annotation = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    annotation = annotation.reindex(obs.index.astype(str))
    groups, parents = _groups(annotation)
    source, layer, counts, why = _source(path, uns)
    try:
        meta, values = de.pseudobulk(
            source,
            groups,
            patient=obs[COL_PATIENT],
            condition=condition,
            layer=layer,
            statistic="sum" if counts else "mean",
            chunk_size=opts.chunk_size,
        )
    finally:
        if isinstance(source, ad.AnnData):
            source.file.close()
    table = de.compare_genes(
        meta,
        values,
        genes,
        contrast=contrast,
        counts=counts,
        parents=parents,
        options=opts,
        method_note=why,
    )
    _write(table, io.output["de_conditions"])
    collections = {
        "library": signatures.read_gmt(io.input["library_gmt"]),
        "hallmark": signatures.read_gmt(io.input["hallmark_gmt"]),
    }
    enr = de.prerank_conditions(table, collections, options=opts)
    _write(
        enr if len(enr) else pd.DataFrame({"note": [_NO_TEST]}), io.output["enrichment_conditions"]
    )
    tested = table[table["gene"].astype(str) != ""]
    n_comp = tested.groupby(["level", "compartment"]).ngroups
    return f"{len(tested)} gene tests in {n_comp} compartments, {len(enr)} enrichment rows"
