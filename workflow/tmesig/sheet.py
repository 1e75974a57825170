"""The configuration and the sample sheet: read, validated once, defaults filled in.

Pure Python (no Snakemake): the ``Snakefile`` calls :func:`check_config` and
:func:`read_sheet`; every problem is an :class:`~tmesig.io.errors.InputError` whose message
names the file, the problem and the fix.
"""

import copy
import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pandas as pd

from .config_rules import (
    check_author_labels,
    check_config_file,
    check_contrast,
    check_finite,
    check_size,
)
from .io.errors import InputError
from .io.urls import SHA256_RE, has_credentials, has_scheme, is_url, redact, url_format
from .paths import SCHEMAS_DIR
from .sheet_table import read_table

__all__ = [
    "DATASET_RE",
    "SEEDED_SECTIONS",
    "SHEET_COLUMNS",
    "check_config",
    "check_row",
    "read_sheet",
    "schema_problems",
    "with_seed",
]

#: A dataset id: it names ``results/<dataset>/`` (also the ``dataset`` wildcard's constraint).
DATASET_RE = "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
#: Dataset ids that would collide with a run-wide results folder.
RESERVED_DATASET_IDS = {
    "signatures": "exported signature library",
    "summary": "cross-dataset summary",
}
#: Config sections whose stage takes the top-level ``seed`` (they had their own ``seed`` key).
SEEDED_SECTIONS: tuple[str, ...] = ("qc", "cluster", "subsets", "score", "enrichment")
#: Columns every sample sheet must have; the others default to "" (samples.schema.yaml).
SHEET_COLUMNS: tuple[str, ...] = ("dataset", "path")
_CONFIG_SCHEMA = "config.schema.yaml"
_SHEET_SCHEMA = "samples.schema.yaml"


@cache
def _schema(schema_file: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((SCHEMAS_DIR / schema_file).read_text())


def _validator(schema: dict[str, Any], *, fill_defaults: bool) -> Any:
    """A JSON-schema validator; with ``fill_defaults`` it writes each property's default
    into the instance as it validates (the jsonschema FAQ recipe Snakemake's ``validate`` uses)."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    if fill_defaults:
        check_properties = cls.VALIDATORS["properties"]

        def set_defaults(validator, properties, instance, subschema):
            if isinstance(instance, dict):
                for name, spec in properties.items():
                    if "default" in spec:
                        instance.setdefault(name, copy.deepcopy(spec["default"]))
            yield from check_properties(validator, properties, instance, subschema)

        cls = jsonschema.validators.extend(cls, {"properties": set_defaults})
    return cls(schema)


def schema_problems(
    data: Mapping[str, Any], schema_file: str, *, fill_defaults: bool = False
) -> list[str]:
    """Short ``where: what`` lines for every schema violation (the schema is not printed).

    Parameters
    ----------
    data
        The config dictionary or one sample-sheet row.
    schema_file
        File name in ``workflow/schemas/`` (``config.schema.yaml``, ``samples.schema.yaml``).
    fill_defaults
        Write every missing property's default into ``data`` while validating.

    Returns
    -------
    One line per problem, sorted by where it is; empty when ``data`` is valid.
    """
    checker = _validator(_schema(schema_file), fill_defaults=fill_defaults)
    problems = []
    for err in sorted(checker.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        where = ".".join(str(p) for p in err.path) or "(top level)"
        problems.append(f"{where}: {err.message}")
    return problems


def check_config(config: dict[str, Any], *, files: Iterable[str] = ()) -> dict[str, Any]:
    """Validate the configuration once and fill in the schema's defaults (in place).

    Parameters
    ----------
    config
        The merged configuration (Snakemake's ``config``); missing keys get their default.
    files
        The configuration files it was read from, named in the message.

    Returns
    -------
    ``config`` itself, complete.

    Raises
    ------
    InputError
        A key given twice in one of ``files`` (YAML would silently keep the last) or a file
        that is a yte template (``__use_yte__``); more than
        :data:`~tmesig.config_rules.MAX_CONFIG_VALUES` values once YAML aliases are expanded;
        a NaN or infinite number; an unknown key, a value of the wrong type or out of range;
        ``conditions.reference`` without ``conditions.test`` (or the reverse) or equal to it;
        ``annotate.use_author_labels`` without ``annotate.label_mapping``; or a key of an
        earlier version: a per-stage ``seed`` (replaced by the top-level ``seed``) or ``report``.
    """
    for f in files:
        check_config_file(f)
    where = ", ".join(str(f) for f in files) or "the configuration"
    check_size(config, where)
    check_finite(config, where)
    _check_retired(config, where)
    problems = schema_problems(config, _CONFIG_SCHEMA, fill_defaults=True)
    if problems:
        raise InputError(
            f"{where}: invalid configuration - "
            + "; ".join(problems)
            + ". Fix: correct or remove these keys (every key, its type and default are listed in "
            "workflow/schemas/config.schema.yaml)"
        )
    check_contrast(config, where)
    check_author_labels(config, where)
    return config


def _check_retired(config: Mapping[str, Any], where: str) -> None:
    """Keys of earlier versions: say what replaced them (before the schema calls them unknown)."""
    seeds = [s for s in SEEDED_SECTIONS if isinstance(config.get(s), dict) and "seed" in config[s]]
    problems, keys = [], [f"{s}.seed" for s in seeds]
    if seeds:
        verb = "was" if len(seeds) == 1 else "were"
        problems.append(
            f"{' and '.join(keys)} {verb} replaced by the top-level seed: one seed for every stage"
        )
    if "report" in config:
        keys.append("report")
        problems.append(
            "report (report.card_genes) was removed: the card-gene dotplot shows the gene each "
            "design-card set of the signature library is named after"
        )
    if problems:
        seed_fix = (
            " and set the seed at the top level of the configuration (e.g. 'seed: 0', the default)"
            if seeds
            else ""
        )
        raise InputError(
            f"{where}: invalid configuration - {'; '.join(problems)}. Fix: delete "
            f"{' and '.join(keys)}{seed_fix}"
        )


def with_seed(config: Mapping[str, Any], section: str) -> dict[str, Any]:
    """A config section with the top-level ``seed`` added (what its stage reads as ``seed``).

    Parameters
    ----------
    config
        The checked configuration.
    section
        One of :data:`SEEDED_SECTIONS`.

    Returns
    -------
    A new dictionary: the section's keys, then ``seed``.
    """
    return {**config[section], "seed": config["seed"]}


def check_row(path: str, i: int, row: Mapping[str, Any]) -> None:
    """Clear messages for the sheet errors a schema message would make obscure.

    Parameters
    ----------
    path
        The sample sheet, named in the message.
    i
        0-based row number (the message counts from 1).
    row
        The row as read (column -> string).

    Raises
    ------
    InputError
        A bad dataset id; a condition_col that is also the sample_col or patient_col; a URL
        that is not http(s), carries credentials (``user:password@``, refused; messages show
        it redacted), shares its row with other paths, or has no or a malformed sha256 or an
        unknown extension; or a sha256 count that differs from the number of paths.
    """
    ds = str(row.get("dataset", ""))
    where = f"{path}: row {i + 1} (dataset {redact(repr(ds))})"
    if not re.fullmatch(DATASET_RE, ds):
        raise InputError(
            f"{where}: invalid dataset id - it names results/<dataset>/, so only letters, digits, "
            "'_', '-' and '.' are allowed (no spaces, semicolons, slashes or '..'), starting with "
            "a letter or digit, at most 64 characters. Fix: rename the dataset in the sample sheet"
        )
    if ds in RESERVED_DATASET_IDS:
        raise InputError(
            f"{where}: the dataset id {ds!r} is reserved: results/{ds}/ holds the "
            f"{RESERVED_DATASET_IDS[ds]}. Fix: rename the dataset in the sample sheet"
        )
    _check_roles(row, where)
    p = str(row.get("path", ""))
    sha = str(row.get("sha256", "") or "")
    _check_url_parts(p, where)
    if is_url(p):
        if not SHA256_RE.match(sha):
            raise InputError(
                f"{where}: the path is a URL but the 'sha256' column is empty or not 64 hex "
                "digits; downloads are verified. Fix: add the file's SHA-256 to the sha256 column"
            )
        if url_format(p) is None:
            raise InputError(
                f"{where}: a URL must end in .h5ad or .h5 (the format is taken from it). Fix: "
                "link the .h5ad or 10x .h5 file, or download it yourself and give its local path"
            )
    n_paths = len([x for x in p.split(",") if x.strip()])
    n_sha = len([x for x in sha.split(",") if x.strip()])
    if n_sha and n_sha != n_paths:
        raise InputError(
            f"{where}: {n_paths} path(s) but {n_sha} sha256 value(s). Fix: give one sha256 per "
            "path, separated by ',', in the same order, or leave the sha256 column empty"
        )


def _check_roles(row: Mapping[str, Any], where: str) -> None:
    """The condition column cannot also be the sample or the patient column."""
    cond = str(row.get("condition_col", "") or "").strip()
    for role in ("sample", "patient"):
        if cond and str(row.get(f"{role}_col", "") or "").strip() == cond:
            raise InputError(
                f"{where}: condition_col and {role}_col both name the column {cond!r}: every "
                f"{role} would be its own condition, and the comparison would be of {role}s, "
                f"not of conditions. Fix: set condition_col to the column that holds the "
                f"condition (e.g. response or timepoint) and {role}_col to the {role} column"
            )


def _check_url_parts(p: str, where: str) -> None:
    """A URL must be the row's only path, http(s), without credentials (never printed)."""
    parts = [x.strip() for x in p.split(",") if x.strip()]
    urls = [x for x in parts if has_scheme(x)]
    if not urls:
        return
    shown = redact(urls[0])
    if has_credentials(urls[0]):
        raise InputError(
            f"{where}: the URL {shown} carries a user name or password, which would end up in "
            "logs and messages; tmesig does not send credentials. Fix: use a public or "
            "pre-signed link, or download the file yourself and give its local path"
        )
    if not is_url(urls[0]):
        raise InputError(
            f"{where}: {shown} is not an http(s) URL; only http(s) URLs are downloaded. Fix: "
            "give an http(s) URL, or download the file yourself and give its local path"
        )
    if len(parts) > 1:
        raise InputError(
            f"{where}: a URL path must name one file. Fix: give one URL per dataset row"
        )


def read_sheet(path: str) -> pd.DataFrame:
    """Read and validate the sample sheet; optional columns get the schema's default ("").

    Read by :func:`tmesig.sheet_table.read_table`: comment and blank lines skipped, every
    value stripped of surrounding spaces; a ``#`` inside a value is kept (a path may hold one).

    Parameters
    ----------
    path
        The tab-separated sample sheet (``config["samples"]``).

    Returns
    -------
    One row per dataset, indexed by ``dataset`` (also kept as a column), with every column
    of ``samples.schema.yaml``.

    Raises
    ------
    InputError
        A missing or unreadable file, missing columns, a bad row (see :func:`check_row`),
        a schema violation, no rows, a dataset id repeated (also in another letter case),
        or a file or URL named by two datasets.
    """
    sheet = read_table(path)
    for i, row in enumerate(sheet.to_dict("records")):
        check_row(path, i, row)
    problems = [
        f"row {i + 1}, {redact(p)}"
        for i, row in enumerate(sheet.to_dict("records"))
        for p in schema_problems(row, _SHEET_SCHEMA)
    ]
    if problems:
        raise InputError(
            f"{path}: invalid sample sheet - "
            + "; ".join(problems)
            + ". Fix: correct these entries (columns and allowed values: "
            "workflow/schemas/samples.schema.yaml)"
        )
    sheet = sheet.fillna("")
    for col, spec in _schema(_SHEET_SCHEMA)["properties"].items():
        if col not in sheet.columns and "default" in spec:
            sheet[col] = spec["default"]
    if sheet.empty:
        raise InputError(f"{path}: the sample sheet has no dataset rows; add one row per dataset")
    _check_unique(path, sheet)
    return sheet.set_index("dataset", drop=False)


#: The sheet's columns that say how a file is read: two datasets may share a file only when
#: they read it differently (e.g. one cohort compared by response and by timepoint).
READ_AS = ("sample_col", "patient_col", "condition_col", "label_col")


def _check_unique(path: str, sheet: pd.DataFrame) -> None:
    """Refuse dataset ids equal but for case, a file named twice by one dataset, and one file
    (or URL) named by two datasets that read it the same way (:data:`READ_AS`)."""
    if sheet["dataset"].duplicated().any():
        dup = ", ".join(sorted(set(sheet.loc[sheet["dataset"].duplicated(), "dataset"])))
        raise InputError(
            f"{path}: dataset ids must be unique; repeated: {dup}. Fix: rename one of them"
        )
    folded = sheet["dataset"].str.casefold()
    if folded.duplicated().any():
        dup = sorted(set(sheet.loc[folded.isin(folded[folded.duplicated()]), "dataset"]))
        raise InputError(
            f"{path}: dataset ids must be unique ignoring letter case (the results/<dataset>/ "
            f"folders of {' and '.join(dup)} are one folder on macOS and Windows). Fix: rename "
            "one of them"
        )
    cols = [c for c in READ_AS if c in sheet.columns]
    seen: dict[str, tuple[str, tuple]] = {}
    for row in sheet.to_dict("records"):
        ds, how = row["dataset"], tuple(str(row[c] or "").strip() for c in cols)
        for part in [x.strip() for x in str(row["path"]).split(",") if x.strip()]:
            key = part if is_url(part) else os.path.realpath(part)
            if key in seen and seen[key][0] == ds:
                raise InputError(
                    f"{path}: dataset {ds!r} names {redact(part)} twice: its cells would be "
                    "counted twice. Fix: name each file once in the 'path' column"
                )
            if key in seen and seen[key][1] == how:
                raise InputError(
                    f"{path}: datasets {seen[key][0]!r} and {ds!r} both name {redact(part)} and "
                    "read it the same way (same sample, patient, condition and label columns): "
                    "the same analysis twice, counted as two datasets in the cross-dataset "
                    "summary. Fix: keep one row per file (remove or merge the other), or name "
                    "other columns to analyse it another way"
                )
            seen.setdefault(key, (ds, how))
