"""Stage ``ingest``: one dataset of the sample sheet -> counts with symbols and metadata.

Every check that can fail on the data is made here, before anything is written: the files
(:func:`tmesig.io.ingest`), the sheet's ``label_col`` and the config's
``cluster.batch_key`` (columns the data must have), the author labels
``annotate.label_mapping`` must map when ``annotate.use_author_labels`` is on, and the
condition levels the config compares (:func:`tmesig.conditions.resolve_contrast`, as the
conditions stage will).

Inputs
    ``data``: the dataset's file(s) (one path, or a list for a multi-file dataset).
Outputs
    ``h5ad``: ``results/{dataset}/ingested.h5ad`` (gzip level 1: deterministic bytes; above
    ``ingest.stream_above`` cells read, checked and written a chunk of cells at a time);
    ``summary``: ``results/{dataset}/ingest_summary.json``.
Params
    ``row``: the dataset's sample-sheet row (``sha256``, ``sample_col``, ``patient_col``,
    ``condition_col``, ``label_col``); ``ingest``: the config's ``ingest`` section;
    ``cluster``: its ``cluster`` section (``batch_key``); ``annotate``: its ``annotate``
    section (``use_author_labels``, ``label_mapping``); ``conditions``: its
    ``conditions`` section (``reference``, ``test``); ``signature_files``: the signature
    library's set files.
Wildcards
    ``dataset``.
"""

from .. import conditions
from ..io import IngestOptions, InputError, check_named_columns, ingest_lazily, verify_sha256
from ..io.write import write_h5ad_deterministic, write_h5ad_streamed
from ..runner import write_json
from ..signatures import load_library
from ._io import StageIO

__all__ = ["run"]


def _check_config_names(adata, summary: dict, io: StageIO) -> None:
    """Refuse a label_col, batch_key or contrast the ingested data cannot serve."""
    where = summary["path"]
    check_named_columns(
        adata.obs,
        label_col=io.params["row"].get("label_col") or None,
        batch_key=io.params.get("cluster", {}).get("batch_key"),
        where=where,
    )
    _check_label_mapping(adata.obs, io.params["row"].get("label_col"), io, where=where)
    p = io.params.get("conditions", {})
    try:
        conditions.resolve_contrast(
            adata.obs["condition"].unique(), reference=p.get("reference"), test=p.get("test")
        )
    except InputError as err:
        col = io.params["row"].get("condition_col") or "(none: every cell is 'NA')"
        raise InputError(f"{where}: condition column {col}: {err}") from None


def _check_label_mapping(obs, label_col: str | None, io: StageIO, *, where: str) -> None:
    """With annotate.use_author_labels, refuse author labels that label_mapping leaves out."""
    a = io.params.get("annotate", {})
    if not (a.get("use_author_labels") and label_col and a.get("label_mapping")):
        return
    labels = set(obs[f"orig_{label_col}"].dropna().astype(str))
    unmapped = sorted(labels - set(a["label_mapping"]))
    if unmapped:
        shown = ", ".join(map(repr, unmapped[:8])) + (", ..." if len(unmapped) > 8 else "")
        raise InputError(
            f"{where}: annotate.use_author_labels is true but {len(unmapped)} of the "
            f"{len(labels)} labels of label_col {label_col!r} are not in annotate.label_mapping "
            f"({shown}); their cells would be unassigned and left out of every lineage. Fix: "
            "map each of them to a lineage or to unassigned in annotate.label_mapping (the "
            "keys must match the labels exactly)"
        )


def run(io: StageIO) -> str:
    """Verify the files' checksums, ingest the dataset and write the h5ad and its summary.

    Parameters
    ----------
    io
        The stage's files and parameters (see the module docstring).

    Returns
    -------
    str
        One line: cells, genes, matrix state and source, aliases renamed.
    """
    row = io.params["row"]
    data = io.input["data"]
    files = [data] if isinstance(data, str) else list(data)
    shas = [s.strip() for s in row.get("sha256", "").split(",") if s.strip()]
    for i, f in enumerate(files):
        verify_sha256(f, expected=shas[i] if i < len(shas) else "")
    genes = {g for gs in load_library(io.params["signature_files"]) for g in gs.genes}
    columns = {role: row.get(f"{role}_col") or None for role in ("sample", "patient", "condition")}
    adata, blocks, summary = ingest_lazily(
        files,
        dataset=io.wildcards["dataset"],
        columns=columns,
        signature_genes=genes,
        options=IngestOptions.from_config(io.params["ingest"]),
    )
    _check_config_names(adata, summary, io)
    if blocks is None:
        write_h5ad_deterministic(adata, io.output["h5ad"])
    else:  # above ingest.stream_above cells: X a chunk of cells at a time
        write_h5ad_streamed(adata, blocks.blocks(), io.output["h5ad"])
    write_json(summary, io.output["summary"])
    return (
        f"ingested {adata.n_obs} cells x {adata.n_vars} genes "
        f"({summary['matrix'].get('state', 'per file')} from "
        f"{summary['matrix'].get('source', 'per file')}); "
        f"{len(summary['aliases_renamed'])} aliases renamed"
    )
