"""Cell metadata of a dataset: sample, patient and condition per cell, and the design checks.

The sample sheet names obs columns for the sample, patient and condition of each cell;
:func:`build_obs` reads them (surrounding spaces removed: ``'R '`` is ``'R'``; refusing
missing or missing-looking labels such as ``''`` or ``'nan'``, and labels that differ only
in letter case, such as ``'R'`` and ``'r'``, which would split one condition, patient or
sample in two), :func:`check_design` refuses a condition or patient that varies within one
sample (samples and patients are the units of every test), and :func:`check_named_columns`
refuses a ``label_col`` or ``cluster.batch_key`` naming a column the data lack - all at
ingest, before any output is written.
"""

from pathlib import Path

import pandas as pd

from .errors import InputError

__all__ = [
    "MISSING_LABELS",
    "build_obs",
    "check_design",
    "check_named_columns",
    "samples_across_files",
]

#: Labels that mean "missing" when written as text (compared stripped, lower-cased).
MISSING_LABELS = frozenset({"", "nan", "none", "na", "n/a", "null", "<na>"})
#: obs columns ingest writes itself (the dataset's own columns get an ``orig_`` prefix).
ROLE_COLUMNS = ("sample", "patient", "condition", "file")

File = tuple[pd.DataFrame, Path, str]  # one file's obs, its path and its label


def _obs_column(
    obs: pd.DataFrame, column: str | None, *, role: str, path: Path
) -> pd.Series | None:
    """The obs column the sheet names for ``role`` (as str, surrounding white space removed),
    or None when none is named."""
    if column is None or column == "":
        return None
    if column not in obs.columns:
        shown = ", ".join(map(str, obs.columns[:20])) or "(none)"
        msg = (
            f"{path}: the sample sheet names obs column {column!r} for {role}, but the dataset "
            f"has no such column (it has: {shown}); fix the '{role}_col' entry of the sample "
            "sheet"
        )
        raise InputError(msg)
    values = obs[column]
    text = values.astype(str).str.strip()
    missing = values.isna().to_numpy() | text.str.lower().isin(MISSING_LABELS).to_numpy()
    if missing.any():
        seen = sorted({repr(v) for v in text[missing & ~values.isna().to_numpy()]})
        what = ", ".join(seen + (["NaN"] if values.isna().any() else []))
        msg = (
            f"{path}: obs column {column!r} ({role}) has {int(missing.sum())} of {len(values)} "
            f"cells without a label ({what}: missing values); fill them, drop those cells, or "
            f"choose another column in the sample sheet ('{role}_col')"
        )
        raise InputError(msg)
    return text  # stripped: 'R ' and 'R' (a spreadsheet's stray space) are one label


def _part_obs(f: File, columns: dict[str, str | None], default_sample: str, multi: bool):
    """obs of one file: sample, patient, condition (file when several), then orig_* columns."""
    obs, path, label = f
    o = pd.DataFrame(index=obs.index)
    sample = _obs_column(obs, columns["sample"], role="sample", path=path)
    patient = _obs_column(obs, columns["patient"], role="patient", path=path)
    condition = _obs_column(obs, columns["condition"], role="condition", path=path)
    o["sample"] = sample.to_numpy() if sample is not None else default_sample
    o["patient"] = patient.to_numpy() if patient is not None else o["sample"].to_numpy()
    o["condition"] = condition.to_numpy() if condition is not None else "NA"
    if multi:
        o["file"] = label
    for col in obs.columns:
        if col not in ROLE_COLUMNS:
            o[f"orig_{col}"] = obs[col].astype(object).to_numpy() if multi else obs[col].to_numpy()
    return o


def build_obs(
    files: list[File], columns: dict[str, str | None], *, dataset: str, where: Path
) -> pd.DataFrame:
    """The dataset's obs: one frame per file, concatenated, roles as categories.

    Parameters
    ----------
    files
        ``(obs, path, label)`` of each file (barcodes already prefixed when several).
    columns
        The sheet's ``sample``, ``patient`` and ``condition`` columns (None: not named).
    dataset
        Sample label of a one-file dataset without a sample column.
    where
        The dataset's path(s), named in messages.

    Returns
    -------
    DataFrame
        ``sample``, ``patient``, ``condition`` (``"NA"`` without a column), ``file`` (when
        several files) and the file's own columns as ``orig_<name>``.

    Raises
    ------
    InputError
        A named column that is absent, holds missing labels or labels that differ only in
        letter case; or repeated barcodes.
    """
    multi = len(files) > 1
    obs_parts = [_part_obs(f, columns, f[2] if multi else dataset, multi) for f in files]
    obs = pd.concat(obs_parts, axis=0, join="outer") if multi else obs_parts[0]
    if obs.index.has_duplicates:
        msg = (
            f"{where}: cell barcodes repeat after prefixing with the file label; make the "
            "barcodes unique"
        )
        raise InputError(msg)
    _check_label_case(obs, columns, where=where)
    for col in ("sample", "patient", "condition") + (("file",) if multi else ()):
        obs[col] = pd.Categorical(obs[col].astype(str))
    if multi:
        for col in obs.columns:
            if col.startswith("orig_") and obs[col].dtype == object:
                obs[col] = obs[col].astype(str)
    return obs


def _check_label_case(obs: pd.DataFrame, columns: dict[str, str | None], *, where: Path) -> None:
    """Refuse sample, patient or condition labels that differ only in letter case."""
    for role in ("sample", "patient", "condition"):
        if not columns.get(role):
            continue
        labels = pd.Index(pd.unique(obs[role].astype(str)))
        folded = labels.str.casefold()
        clashes = [sorted(labels[folded == f]) for f in pd.unique(folded[folded.duplicated()])]
        if not clashes:
            continue
        shown = "; ".join(" / ".join(map(repr, c)) for c in clashes[:5])
        msg = (
            f"{where}: obs column {columns[role]!r} ({role}) has labels that differ only in "
            f"letter case ({shown}); they would count as different {role}s, splitting one "
            f"{role} in two. Fix: write each {role} the same way in the data, or choose "
            f"another column in the sample sheet ('{role}_col')"
        )
        raise InputError(msg)


def check_design(obs: pd.DataFrame, columns: dict[str, str | None], *, where: Path) -> None:
    """Refuse a condition or patient that is not constant within each sample.

    Parameters
    ----------
    obs
        The ingested obs (``sample``, ``patient``, ``condition``).
    columns
        The sheet's columns (named in the message).
    where
        The dataset's path(s), named in the message.

    Raises
    ------
    InputError
        Naming the column, how many samples mix values (with examples) and the fix.
    """
    for role in ("condition", "patient"):
        if not columns.get(role):
            continue
        per = obs.groupby("sample", observed=True)[role].agg(lambda v: sorted(set(map(str, v))))
        bad = per[per.map(len) > 1]
        if bad.empty:
            continue
        shown = "; ".join(f"{s}: {', '.join(v[:4])}" for s, v in bad.head(5).items())
        sample_src = (
            f"sample column {columns['sample']!r}"
            if columns.get("sample")
            else "no sample column, so each file is one sample"
        )
        msg = (
            f"{where}: the {role} column {columns[role]!r} varies within samples ({sample_src}): "
            f"{len(bad)} of {len(per)} samples hold cells of several {role}s ({shown}); a "
            f"sample must come from one {role} (samples and patients are the units of the "
            f"tests) - fix the '{role}_col' column, or name a sample column (sample_col) that "
            f"separates them"
        )
        raise InputError(msg)


def check_named_columns(
    obs: pd.DataFrame, *, label_col: str | None, batch_key: str | None, where: str | Path
) -> None:
    """Refuse a sheet ``label_col`` or config ``cluster.batch_key`` the ingested data lack.

    Parameters
    ----------
    obs
        The ingested obs (the dataset's own columns as ``orig_<name>``).
    label_col
        The sheet's author-label column (read later as ``orig_<label_col>``), or None.
    batch_key
        The config's ``cluster.batch_key`` (an ingested obs column), or None.
    where
        The dataset's path(s), named in the message.

    Raises
    ------
    InputError
        Naming the entry, the columns there are and the fix.
    """
    own = [c.removeprefix("orig_") for c in obs.columns if c.startswith("orig_")]
    if label_col and f"orig_{label_col}" not in obs.columns:
        why = (
            "is one of the columns tmesig writes itself"
            if label_col in ROLE_COLUMNS
            else "is not an obs column of the dataset"
        )
        msg = (
            f"{where}: the sample sheet's label_col {label_col!r} {why} (the dataset's columns: "
            f"{', '.join(own[:20]) or '(none)'}); fix label_col in the sample sheet or leave it "
            "empty"
        )
        raise InputError(msg)
    if batch_key and batch_key not in obs.columns:
        hint = f" (the dataset's {batch_key!r} is 'orig_{batch_key}')" if batch_key in own else ""
        msg = (
            f"{where}: cluster.batch_key {batch_key!r} in the config is not a column of the "
            f"ingested cells{hint}; they have: {', '.join(map(str, obs.columns[:20]))}. Set "
            "cluster.batch_key to one of them (e.g. 'sample') or null"
        )
        raise InputError(msg)


def samples_across_files(obs: pd.DataFrame) -> list[str]:
    """A note when one sample label is in several files (the sample column of each file).

    Parameters
    ----------
    obs
        The ingested obs of a multi-file dataset (``sample`` and ``file``).

    Returns
    -------
    list of str
        No note, or one naming the labels and their files: two patients' files labelled
        'tumour' alike are one sample (and one patient without a patient column).
    """
    if "file" not in obs.columns:
        return []
    files = obs.groupby("sample", observed=True)["file"].agg(lambda f: sorted(set(map(str, f))))
    shared = files[files.map(len) > 1]
    if shared.empty:
        return []
    shown = "; ".join(f"{s!r}: {', '.join(f)}" for s, f in shared.head(5).items())
    return [
        f"{len(shared)} sample label(s) are in several files ({shown}): the cells of those files "
        "are one sample (and one patient without patient_col); if the files are different "
        "samples, leave sample_col empty (each file is then a sample) or make the labels unique"
    ]
