"""Stage ``cross_dataset``: the datasets of the sheet side by side (two or more datasets).

Inputs
    ``flags``, ``conditions``, ``coverage``: each a list of the datasets' tables, in the
    order of ``params["datasets"]``; ``summaries``: the datasets' ``summary.html`` (linked
    from the page); ``sets``: the signature YAML files (set titles).
Outputs
    ``table``: ``flags_by_dataset.tsv`` (:func:`tmesig.findings.flags_by_dataset`, floats as
    ``%.6g``); ``heatmap``: ``heatmap_sets_by_dataset.png`` (pre-specified pairs);
    ``html``: ``summary.html`` (self-contained).
Params
    ``datasets``: the dataset ids; ``flag``: the config's ``flag`` section (``alpha``).
"""

from pathlib import Path

import pandas as pd

from .. import findings, signatures
from ._io import StageIO

__all__ = ["run"]


def _by_dataset(paths: list[str], datasets: list[str]) -> dict[str, pd.DataFrame]:
    return {ds: pd.read_csv(p, sep="\t") for ds, p in zip(datasets, paths, strict=True)}


def run(io: StageIO) -> str:
    """Write the cross-dataset table, heatmap and page.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"<n> datasets side by side: <k> flagged pair(s)"``.
    """
    datasets = [str(d) for d in io.params["datasets"]]
    i, out = io.input, io.output
    table = findings.flags_by_dataset(
        _by_dataset(list(i["flags"]), datasets),
        conditions=_by_dataset(list(i["conditions"]), datasets),
        coverage=_by_dataset(list(i["coverage"]), datasets),
    )
    table.to_csv(out["table"], sep="\t", index=False, float_format="%.6g")
    primary = table[table["family"] == "primary"]
    fig = findings.datasets_heatmap(primary if len(primary) else table)
    fig.savefig(out["heatmap"], dpi=120)
    titles = {gs.name: gs.title for gs in signatures.load_library(i["sets"])}
    page = findings.cross_page(
        table,
        titles=titles,
        alpha=float(io.params["flag"]["alpha"]),
        heatmap=Path(out["heatmap"]).read_bytes(),
    )
    Path(out["html"]).write_text(findings.to_html(page, title="tmesig findings across datasets"))
    n = int(table.loc[table["flagged"], ["compartment", "set"]].drop_duplicates().shape[0])
    return f"{len(datasets)} datasets side by side: {n} flagged pair(s)"
