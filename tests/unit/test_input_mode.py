"""tmesig.input_mode: the mode a run is in, from the ingest record, the config and the data."""

import json
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from tmesig import input_mode as im
from tmesig.paths import SCHEMAS_DIR


def _data(n_genes: int, *, counts: bool = True, record: dict | None = None) -> ad.AnnData:
    a = ad.AnnData(X=sp.csr_matrix(np.ones((4, n_genes), dtype=np.float32)))
    if counts:
        a.layers["counts"] = a.X.copy()
    if record is not None:
        a.uns["tmesig_ingest"] = json.dumps(record)
    return a


@pytest.mark.parametrize(
    ("n_genes", "counts", "record", "requested", "want"),
    [
        (5000, True, None, "auto", "counts"),
        (999, True, None, "auto", "panel"),  # below 1,000 genes: a panel
        (1000, True, None, "auto", "counts"),
        (400, True, None, "counts", "counts"),  # the user says counts: counts
        (5000, True, None, "panel", "panel"),
        (5000, False, None, "auto", "normalised"),  # no counts layer: nothing else possible
        (5000, False, {"input_mode": "normalised"}, "normalised", "normalised"),
        (5000, True, {"input_mode": "panel"}, "auto", "panel"),  # ingest decided
        (5000, True, {"input_mode": "counts"}, "normalised", "counts"),  # counts were found
        # the gene count at ingest decides, not the genes left after QC
        (800, True, {"input_mode": "counts", "genes": 20000}, "auto", "counts"),
        # ingested.h5ad stores counts once, in X (no counts layer): the record decides
        (5000, False, {"input_mode": "counts", "genes": 5000}, "auto", "counts"),
        (5000, False, {"input_mode": "panel", "genes": 300}, "auto", "panel"),
        (5000, False, {"input_mode": "counts", "genes": 300}, "auto", "panel"),
    ],
)
def test_resolve_input_mode(n_genes, counts, record, requested, want):
    a = _data(n_genes, counts=counts, record=record)
    assert im.resolve_input_mode(a, requested=requested) == want


def test_reader_defaults_to_counts_and_prefers_the_resolved_mode():
    assert im.input_mode(_data(10)) == "counts"
    a = _data(10, record={"input_mode": "normalised"})
    assert im.input_mode(a) == "normalised"
    im.store_input_mode(a, "panel")
    assert im.input_mode(a) == "panel"
    a.uns["tmesig_ingest"] = {"input_mode": "normalised"}  # a mapping (notebook use) works too
    del a.uns["tmesig_input_mode"]
    assert im.input_mode(a) == "normalised"
    with pytest.raises(ValueError, match="not one of"):
        im.store_input_mode(a, "tpm")
    with pytest.raises(ValueError, match="not one of"):
        im.resolve_input_mode(a, requested="log")


def test_schema_enum_matches_the_modes():
    schema = yaml.safe_load(Path(SCHEMAS_DIR / "config.schema.yaml").read_text())
    prop = schema["properties"]["ingest"]["properties"]["input_mode"]
    assert tuple(prop["enum"]) == im.REQUESTED_MODES and prop["default"] == "auto"
