"""Stage ``forest``: the forest plot of condition effects (rule ``forest``, report.smk).

Runs only for datasets whose sheet row names a ``condition_col``
(:attr:`tmesig.workflow_paths.WorkflowPaths.conditioned`): without conditions there is no
figure at all, and the findings say so in words.

Inputs
    ``conditions`` (``conditions.tsv``), ``sets`` (the signature YAML files).
Outputs
    ``forest``: PNG (:func:`tmesig.report.forest_conditions`: a panel of lineage rows and
    one of cell-state rows, a state labelled with its lineage, e.g. ``CD8_exhausted
    (T_NK)``; a framed note when the condition column holds fewer than two conditions or too
    few patients to test).
"""

import matplotlib.pyplot as plt
import pandas as pd

from .. import report, signatures
from ._io import StageIO

__all__ = ["run"]


def run(io: StageIO) -> str:
    """Draw the forest plot of ``conditions.tsv``.

    Parameters
    ----------
    io : StageIO
        Inputs and outputs as listed in the module docstring.

    Returns
    -------
    str
        ``"forest plot of <n> tested rows"``.
    """
    table = pd.read_csv(io.input["conditions"], sep="\t")
    library = signatures.load_library(io.input["sets"])
    fig = report.forest_conditions(table, sets=library)
    fig.savefig(io.output["forest"], dpi=130, bbox_inches="tight")
    plt.close(fig)
    n = int(table["p"].notna().sum()) if "p" in table.columns else 0
    return f"forest plot of {n} tested rows"
