"""Stage ``flag``: compartment × sample means, and the calibrated compartment flags.

Inputs
    ``scores``: ``scores.parquet``; ``annotation``: ``annotation.tsv`` (its ``compartment``
    and, when present, ``state`` / ``parent`` columns: the state rows); ``coverage``
    (optional): ``coverage.tsv`` (each set's ``n_genes`` and ``n_found``); ``clustered``:
    ``clustered.h5ad`` (read backed: the unit column of ``obs`` and
    the matrix for the null sets); ``sets``: the signature YAML files (only the scored sets
    are used).
Outputs
    ``compartments``: ``compartments.tsv`` (:func:`tmesig.flag.compartment_summary`);
    ``flags``: ``flags.tsv`` (:func:`tmesig.flag.calibrate_flags`), sorted by evidence (FDR,
    p, then resistance_effect: :func:`tmesig.tables.sort_by_evidence`); floats as ``%.6g``.
    Both at two levels (``level``: ``lineage``, ``state``; ``parent``: the state's lineage,
    :func:`tmesig.flag.flag_dataset`); ``flags.tsv`` carries ``n_genes_found`` and
    ``n_genes`` from ``coverage.tsv``.
Params
    ``flag``: the config's ``flag`` section (``unit`` and :class:`tmesig.flag.FlagOptions`);
    ``score``: the config's ``score`` section (the null sets' control genes).
"""

import pandas as pd

from .. import flag, score, signatures
from ..conditions import gene_counts
from ..constants import COL_COMPARTMENT, COL_LEVEL, COL_PARENT, COL_STATE, LEVEL_STATE
from ..io.expression import read_expression
from ..tables import sort_by_evidence
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Flag compartments; write ``compartments`` and ``flags``; return a summary line.

    Parameters
    ----------
    io
        The stage's named inputs, outputs and params (see the module docstring).
    """
    p = io.params["flag"]
    scores = pd.read_parquet(io.input["scores"])
    library = signatures.load_library(io.input["sets"])
    sets = [gs for gs in library if gs.name in scores.columns]
    ann = pd.read_csv(io.input["annotation"], sep="\t", index_col=0)
    adata = read_expression(io.input["clustered"], backed=True)
    unit = adata.obs[p["unit"]].astype(str)
    comp = ann[COL_COMPARTMENT].reindex(adata.obs_names).astype(str)
    has_states = {COL_STATE, COL_PARENT} <= set(ann.columns)
    table, flags = flag.flag_dataset(
        adata,
        scores,
        sets,
        compartment=comp,
        unit=unit,
        states=ann[[COL_STATE, COL_PARENT]] if has_states else None,
        options=flag.FlagOptions.from_config(p),
        score_options=score.ScoreOptions.from_config(io.params["score"]),
    )
    table.to_csv(io.output["compartments"], sep="\t", index=False, float_format="%.6g")
    coverage = io.input.get("coverage")
    flags = gene_counts(flags, pd.read_csv(coverage, sep="\t") if coverage else None)
    ties = ("set", COL_LEVEL, "compartment")
    flags = sort_by_evidence(flags, effect="resistance_effect", ties=ties)
    flags.to_csv(io.output["flags"], sep="\t", index=False, float_format="%.6g")
    if flags.empty:
        return "no gene set was scored (coverage.tsv says why): nothing to flag"
    states = flags[COL_LEVEL] == LEVEL_STATE
    return (
        f"{int(flags.loc[~states, 'flagged'].sum())} of {int((~states).sum())} lineage x set "
        f"and {int(flags.loc[states, 'flagged'].sum())} of {int(states.sum())} state x set "
        "tests flagged"
    )
