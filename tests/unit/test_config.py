"""The config and sample-sheet schemas: defaults filled in, bad values rejected."""

import copy

import pandas as pd
import pytest
import yaml
from conftest import REPO
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMAS = REPO / "workflow" / "schemas"


def _config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_shipped_config_valid_and_defaults_filled():
    cfg = {"samples": "x.tsv"}
    validate(cfg, str(SCHEMAS / "config.schema.yaml"))
    assert cfg["qc"]["nmads"] == 5 and cfg["cluster"]["resolution"] == 1.0
    assert cfg["score"]["min_coverage"] == 0.5 and cfg["flag"]["unit"] == "sample"
    full = _config()
    validate(full, str(SCHEMAS / "config.schema.yaml"))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(unknown_key=1),
        lambda c: c["qc"].update(nmad=5),
        lambda c: c["qc"].update(nmads="five"),
        lambda c: c["cluster"].update(resolution=-1),
        lambda c: c["flag"].update(unit="cell"),
    ],
)
def test_bad_config_rejected(mutate):
    cfg = copy.deepcopy(_config())
    mutate(cfg)
    with pytest.raises(WorkflowError):
        validate(cfg, str(SCHEMAS / "config.schema.yaml"))


@pytest.mark.parametrize("dataset", ["a;b", "a b", "../x", "x/y", "", ".hidden"])
def test_bad_dataset_ids_rejected(dataset):
    sheet = pd.DataFrame({"dataset": [dataset], "path": ["d.h5ad"]})
    with pytest.raises(WorkflowError):
        validate(sheet, str(SCHEMAS / "samples.schema.yaml"))


def test_sheet_defaults_and_checksum_pattern():
    sheet = pd.DataFrame({"dataset": ["ok_1"], "path": ["d.h5ad"]})
    validate(sheet, str(SCHEMAS / "samples.schema.yaml"))
    assert sheet.loc[0, "sample_col"] == ""
    bad = pd.DataFrame({"dataset": ["ok"], "path": ["d.h5ad"], "sha256": ["abc"]})
    with pytest.raises(WorkflowError):
        validate(bad, str(SCHEMAS / "samples.schema.yaml"))
