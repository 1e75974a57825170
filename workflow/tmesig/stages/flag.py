"""Stage ``flag``: compartment × sample means, and the calibrated compartment flags.

Inputs
    ``scores``: ``scores.parquet``; ``annotation``: ``annotation.tsv`` (its ``compartment``
    column); ``clustered``: ``clustered.h5ad`` (read backed: the unit column of ``obs`` and
    the matrix for the null sets); ``sets``: the signature YAML files (only the scored sets
    are used).
Outputs
    ``compartments``: ``compartments.tsv`` (:func:`tmesig.flag.compartment_summary`);
    ``flags``: ``flags.tsv`` (:func:`tmesig.flag.calibrate_flags`), sorted by evidence (FDR,
    p, then resistance_effect: :func:`tmesig.tables.sort_by_evidence`); floats as ``%.6g``.
Params
    ``flag``: the config's ``flag`` section (``unit`` and :class:`tmesig.flag.FlagOptions`);
    ``score``: the config's ``score`` section (the null sets' control genes).
"""

import anndata as ad
import pandas as pd

from .. import flag, score, signatures
from ..constants import COL_COMPARTMENT
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
    adata = ad.read_h5ad(io.input["clustered"], backed="r")
    unit = adata.obs[p["unit"]].astype(str)
    comp = ann[COL_COMPARTMENT].reindex(adata.obs_names).astype(str)
    table, flags = flag.flag_dataset(
        adata,
        scores,
        sets,
        compartment=comp,
        unit=unit,
        options=flag.FlagOptions.from_config(p),
        score_options=score.ScoreOptions.from_config(io.params["score"]),
    )
    table.to_csv(io.output["compartments"], sep="\t", index=False, float_format="%.6g")
    flags = sort_by_evidence(flags, effect="resistance_effect", ties=("set", "compartment"))
    flags.to_csv(io.output["flags"], sep="\t", index=False, float_format="%.6g")
    return f"{int(flags['flagged'].sum())} of {len(flags)} compartment x set tests flagged"
