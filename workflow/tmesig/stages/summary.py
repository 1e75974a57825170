"""Stage ``summary``: the findings page of one dataset, and its per-patient view.

Inputs
    ``ingest_summary`` (``ingest_summary.json``), ``qc_summary``, ``coverage``, ``flags``,
    ``conditions``, ``composition``, ``annotation`` (TSV tables of the run), ``scores``
    (``scores.parquet``), ``clustered`` (``clustered.h5ad``, read backed: ``obs["patient"]``,
    ``obs["condition"]`` and the gene names), ``sets`` (the signature YAML files).
Outputs
    ``md`` and ``html``: ``summary.md`` and ``summary.html`` (self-contained);
    ``patients``: ``patients.tsv`` (:func:`tmesig.findings.patient_scores`, lineage and
    state rows when ``annotation.tsv`` has a ``state`` column, floats as ``%.6g``);
    ``heatmap_dir``: a folder holding ``patients_heatmap.png`` with at least three
    patients, empty otherwise (the page then says why).
Params
    ``flag``: the config's ``flag`` section (the flag rule the page restates);
    ``conditions``: the config's ``conditions`` section (``min_cells``).
"""

import json
from pathlib import Path

import anndata as ad
import pandas as pd

from .. import findings, signatures
from ..constants import COL_COMPARTMENT, COL_CONDITION, COL_PARENT, COL_PATIENT, COL_STATE
from ._io import StageIO

__all__ = ["run"]


def _tsv(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _tables(io: StageIO, options: findings.FindingsOptions) -> findings.DatasetTables:
    i = io.input
    scores = pd.read_parquet(i["scores"])
    annotation = pd.read_csv(i["annotation"], sep="\t", index_col=0)
    comp = annotation[COL_COMPARTMENT].astype(str)
    backed = ad.read_h5ad(i["clustered"], backed="r")
    obs, genes = backed.obs, frozenset(map(str, backed.var_names))
    backed.file.close()
    patients = findings.patient_scores(
        scores,
        compartment=comp,
        patient=obs[COL_PATIENT].astype(str),
        condition=obs[COL_CONDITION].astype(str) if COL_CONDITION in obs else None,
        state=annotation[COL_STATE] if COL_STATE in annotation else None,
        parent=annotation[COL_PARENT] if COL_PARENT in annotation else None,
        min_cells=options.min_cells,
        min_patients=options.min_patients,
    )
    return findings.DatasetTables(
        dataset=str(io.wildcards.get("dataset", Path(i["flags"]).parent.name)),
        ingest=json.loads(Path(i["ingest_summary"]).read_text()),
        qc_summary=_tsv(i["qc_summary"]),
        coverage=_tsv(i["coverage"]),
        flags=_tsv(i["flags"]),
        conditions=_tsv(i["conditions"]),
        composition=_tsv(i["composition"]),
        compartment=comp.reindex(scores.index),
        patients=patients,
        genes=genes,
        library=tuple(signatures.load_library(i["sets"])),
    )


def run(io: StageIO) -> str:
    """Write the findings page (Markdown and HTML), ``patients.tsv`` and the heatmap folder.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        ``"findings: <n> flagged of <m> pre-specified tests; <k> patients"``.
    """
    out = io.output
    options = findings.FindingsOptions.from_config(io.params["flag"], io.params.get("conditions"))
    tables = _tables(io, options)
    tables.patients.to_csv(out["patients"], sep="\t", index=False, float_format="%.6g")
    facts = findings.collect_findings(tables, options=options)
    folder = Path(out["heatmap_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    heatmap = b""
    if facts.n_patients >= options.min_patients:
        keys = [c for c in ("level", "compartment", "set") if c in tables.flags]
        primary = tables.flags.loc[tables.flags["family"] == "primary", keys]
        fig = findings.patients_heatmap(tables.patients, pairs=primary if len(primary) else None)
        png = folder / Path(findings.PATIENTS_HEATMAP).name
        fig.savefig(png, dpi=120)
        heatmap = png.read_bytes()
    page = findings.findings_page(facts, heatmap=heatmap)
    Path(out["md"]).write_text(findings.to_markdown(page))
    title = f"tmesig findings: {facts.dataset}"
    Path(out["html"]).write_text(findings.to_html(page, title=title))
    return (
        f"findings: {len(facts.flagged)} flagged of {facts.n_primary} pre-specified tests; "
        f"{facts.n_patients} patients"
    )
