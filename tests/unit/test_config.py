"""The config and sample-sheet schemas, applied by tmesig.sheet: defaults filled in, bad values
rejected with an InputError that names the file."""

import copy

import pandas as pd
import pytest
import yaml
from conftest import REPO
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
from tmesig.io import InputError
from tmesig.sheet import SEEDED_SECTIONS, check_config, read_sheet, schema_problems, with_seed

SCHEMAS = REPO / "workflow" / "schemas"


def _config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_shipped_config_valid_and_defaults_filled():
    cfg = {"samples": "x.tsv"}
    assert check_config(cfg) is cfg
    assert cfg["qc"]["nmads"] == 5 and cfg["cluster"]["resolution"] == 1.0
    assert cfg["score"]["min_coverage"] == 0.5 and cfg["flag"]["unit"] == "sample"
    assert cfg["seed"] == 0
    full = _config()
    check_config(full)
    # the defaults are those Snakemake's own validate() fills in
    for start in ({"samples": "x.tsv"}, _config()):
        ours, theirs = copy.deepcopy(start), copy.deepcopy(start)
        check_config(ours)
        validate(theirs, str(SCHEMAS / "config.schema.yaml"))
        assert ours == theirs


def test_defaults_are_not_shared_between_configs():
    a, b = {"samples": "a.tsv"}, {"samples": "b.tsv"}
    check_config(a)
    a["qc"]["nmads"] = 9
    check_config(b)
    assert b["qc"]["nmads"] == 5


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda c: c.update(unknown_key=1), "'unknown_key' was unexpected"),
        (lambda c: c["qc"].update(nmad=5), "qc: Additional properties are not allowed"),
        (lambda c: c["qc"].update(nmads="five"), "qc.nmads: 'five' is not of type 'number'"),
        (lambda c: c["cluster"].update(resolution=-1), "cluster.resolution"),
        (lambda c: c["flag"].update(unit="cell"), "flag.unit: 'cell' is not one of"),
    ],
)
def test_bad_config_rejected(mutate, problem):
    cfg = copy.deepcopy(_config())
    mutate(cfg)
    with pytest.raises(WorkflowError):
        validate(copy.deepcopy(cfg), str(SCHEMAS / "config.schema.yaml"))
    with pytest.raises(InputError) as err:
        check_config(cfg, files=["my/config.yaml"])
    msg = str(err.value)
    assert msg.startswith("my/config.yaml: invalid configuration - ") and problem in msg
    assert "Fix: correct or remove these keys" in msg


def test_all_problems_in_one_message():
    cfg = {"samples": "x.tsv", "qc": {"nmad": 5}, "cluster": {"resolution": "high"}}
    with pytest.raises(InputError) as err:
        check_config(cfg)
    msg = str(err.value)
    assert msg.startswith("the configuration: invalid configuration - ")
    assert "cluster.resolution: 'high' is not of type 'number'" in msg and "'nmad'" in msg


@pytest.mark.parametrize("section", SEEDED_SECTIONS)
def test_per_stage_seed_names_its_replacement(section):
    cfg = {"samples": "x.tsv", section: {"seed": 3}}
    with pytest.raises(InputError) as err:
        check_config(cfg, files=["c.yaml"])
    msg = str(err.value)
    assert f"{section}.seed was replaced by the top-level seed" in msg and msg.startswith("c.yaml")
    assert "Fix: delete" in msg


def test_several_per_stage_seeds_named_together():
    with pytest.raises(InputError, match="qc.seed and score.seed were replaced"):
        check_config({"samples": "x.tsv", "qc": {"seed": 0}, "score": {"seed": 0}})


def test_report_card_genes_retired():
    cfg = {"samples": "x.tsv", "report": {"card_genes": ["CD274"]}, "qc": {"seed": 0}}
    with pytest.raises(InputError) as err:
        check_config(cfg, files=["c.yaml"])
    msg = str(err.value)
    assert "qc.seed was replaced by the top-level seed" in msg
    assert "report (report.card_genes) was removed" in msg and "design-card set" in msg
    assert "Fix: delete qc.seed and report and set the seed at the top level" in msg


def test_top_level_seed_reaches_every_seeded_section():
    cfg = check_config({"samples": "x.tsv", "seed": 7})
    for section in SEEDED_SECTIONS:
        p = with_seed(cfg, section)
        assert p["seed"] == 7 and {k: v for k, v in p.items() if k != "seed"} == cfg[section]
        assert "seed" not in cfg[section]
    assert check_config({"samples": "x.tsv"})["seed"] == 0


def _sheet(tmp_path, rows: dict) -> str:
    path = tmp_path / "samples.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return str(path)


@pytest.mark.parametrize("dataset", ["a;b", "a b", "../x", "x/y", "", ".hidden"])
def test_bad_dataset_ids_rejected(tmp_path, dataset):
    sheet = pd.DataFrame({"dataset": [dataset], "path": ["d.h5ad"]})
    with pytest.raises(WorkflowError):
        validate(sheet, str(SCHEMAS / "samples.schema.yaml"))
    assert schema_problems({"dataset": dataset, "path": "d.h5ad"}, "samples.schema.yaml")
    path = _sheet(tmp_path, {"dataset": [dataset], "path": ["d.h5ad"]})
    with pytest.raises(InputError, match="invalid dataset id") as err:
        read_sheet(path)
    assert str(err.value).startswith(f"{path}: row 1") and "rename the dataset" in str(err.value)


def test_sheet_defaults_and_checksum_pattern(tmp_path):
    sheet = pd.DataFrame({"dataset": ["ok_1"], "path": ["d.h5ad"]})
    validate(sheet, str(SCHEMAS / "samples.schema.yaml"))
    assert sheet.loc[0, "sample_col"] == ""
    ours = read_sheet(_sheet(tmp_path, {"dataset": ["ok_1"], "path": ["d.h5ad"]}))
    assert ours.loc["ok_1", "sample_col"] == ""
    assert list(ours.columns) == list(sheet.columns)  # the same columns, in the same order
    bad = pd.DataFrame({"dataset": ["ok"], "path": ["d.h5ad"], "sha256": ["abc"]})
    with pytest.raises(WorkflowError):
        validate(bad, str(SCHEMAS / "samples.schema.yaml"))
    path = _sheet(tmp_path, {"dataset": ["ok"], "path": ["d.h5ad"], "sha256": ["abc"]})
    with pytest.raises(InputError, match="invalid sample sheet - row 1, sha256: 'abc' does not"):
        read_sheet(path)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40])
def test_seed_outside_numpys_range_refused(seed):
    # numpy (scrublet, Leiden, UMAP...) takes seeds 0..2**32-1: refused before any job, not at QC
    with pytest.raises(
        InputError, match="seed: .*(less than the minimum|greater than the maximum)"
    ):
        check_config({"samples": "x.tsv", "seed": seed}, files=["my/config.yaml"])
    assert check_config({"samples": "x.tsv", "seed": 2**32 - 1})["seed"] == 2**32 - 1


@pytest.mark.parametrize(
    ("conditions", "problem", "fix"),
    [
        (
            {"reference": "R"},
            "conditions.reference is set ('R') but conditions.test is not",
            "set conditions.test",
        ),
        (
            {"test": "post"},
            "conditions.test is set ('post') but conditions.reference is not",
            "set conditions.reference",
        ),
        (
            {"reference": "R", "test": "R"},
            "both 'R': a condition compared with itself",
            "set conditions.test",
        ),
    ],
)
def test_half_or_self_contrast_refused(conditions, problem, fix):
    with pytest.raises(InputError) as err:
        check_config({"samples": "x.tsv", "conditions": conditions}, files=["my/config.yaml"])
    msg = str(err.value)
    assert msg.startswith("my/config.yaml: invalid configuration - ") and problem in msg
    assert f"Fix: {fix}" in msg
    ok = check_config({"samples": "x.tsv", "conditions": {"reference": "R", "test": "NR"}})
    assert ok["conditions"]["reference"] == "R"


def test_yaml_alias_bomb_refused_quickly():
    import time

    levels = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )  # *i stands for 9**9 = 387,420,489 strings
    text = f"samples: x.tsv\n{levels}annotate:\n  label_mapping:\n    T: *i\n"
    start = time.monotonic()
    with pytest.raises(InputError) as err:
        check_config(yaml.safe_load(text), files=["my/config.yaml"])
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert msg.startswith("my/config.yaml: invalid configuration - it expands to more than")
    assert "anchors and aliases" in msg and "Fix: write the values out" in msg
    shared = (
        "samples: x.tsv\nannotate:\n  label_mapping: &m {CD8: T_NK}\n  celltypist_mapping: *m\n"
    )
    assert check_config(yaml.safe_load(shared))["annotate"]["celltypist_mapping"] == {"CD8": "T_NK"}


def test_author_labels_without_a_mapping_refused():
    cfg = {"samples": "x.tsv", "annotate": {"use_author_labels": True}}
    with pytest.raises(InputError) as err:
        check_config(cfg, files=["my/config.yaml"])
    msg = str(err.value)
    assert "annotate.use_author_labels is true but annotate.label_mapping is empty" in msg
    assert "Fix: map each author label to a lineage" in msg
    cfg["annotate"]["label_mapping"] = {"T cell": "T_NK"}
    assert check_config(cfg)["annotate"]["use_author_labels"] is True


def test_nan_and_infinite_numbers_refused():
    # to the schema, .nan passes every minimum and maximum; .inf broke the download's timeout
    text = "samples: x.tsv\nflag:\n  alpha: .nan\ndownload:\n  timeout_s: .inf\n"
    with pytest.raises(InputError) as err:
        check_config(yaml.safe_load(text), files=["my/config.yaml"])
    msg = str(err.value)
    assert msg.startswith("my/config.yaml: invalid configuration - ")
    assert "flag.alpha: nan" in msg and "download.timeout_s: inf" in msg
    assert "not a finite number" in msg and "Fix: give a finite number" in msg
