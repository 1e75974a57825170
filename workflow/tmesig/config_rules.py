"""Configuration checks the JSON schema cannot express: the files, the size, keys that go together.

:func:`check_config_file` reads each configuration file again: a key given twice in one
mapping (YAML keeps the last silently) and a yte template are refused.

Called by :func:`tmesig.sheet.check_config`: :func:`check_size` before the schema (a
YAML "billion laughs" file, whose anchors and aliases nest copies of copies, is small on
disk and in memory but astronomically large once walked: the schema validator, or any
message that shows a value, would never finish) and :func:`check_finite` (YAML's ``.nan``
and ``.inf`` are numbers to the schema: a NaN passes every ``minimum`` and ``maximum``),
:func:`check_contrast` and :func:`check_author_labels` after it.
"""

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .io.errors import InputError

__all__ = [
    "MAX_CONFIG_VALUES",
    "check_author_labels",
    "check_config_file",
    "check_contrast",
    "check_finite",
    "check_size",
    "expanded_size",
]

#: Values a configuration may hold once every YAML alias is expanded (the shipped one: ~200).
MAX_CONFIG_VALUES = 100_000


def expanded_size(value: Any, *, limit: int = MAX_CONFIG_VALUES) -> int:
    """Values in ``value`` counting every alias as a full copy (each shared object walked once).

    Parameters
    ----------
    value
        A configuration as YAML loads it (dicts, lists, scalars).
    limit
        Counting stops once the total passes this (the result is then ``> limit``).

    Returns
    -------
    int
        1 for a scalar; 1 plus the sizes of the items (keys and values) of a list or dict.
    """
    memo: dict[int, int] = {}

    def size(x: Any) -> int:
        if not isinstance(x, dict | list):
            return 1
        if id(x) in memo:
            return memo[id(x)]
        items = [*x.keys(), *x.values()] if isinstance(x, dict) else x
        total = 1
        for item in items:
            total += size(item)
            if total > limit:
                break
        memo[id(x)] = total
        return total

    return size(value)


def check_size(config: Mapping[str, Any], where: str) -> None:
    """Refuse a configuration that expands to more than :data:`MAX_CONFIG_VALUES` values.

    Parameters
    ----------
    config
        The configuration as loaded.
    where
        The file(s) it was read from, named in the message.

    Raises
    ------
    InputError
        Naming the files, the problem and the fix.
    """
    if expanded_size(dict(config)) > MAX_CONFIG_VALUES:
        raise InputError(
            f"{where}: invalid configuration - it expands to more than {MAX_CONFIG_VALUES:,} "
            "values: YAML anchors and aliases (&name, *name) nest copies of copies (a 'billion "
            "laughs' file), which no check could walk. Fix: write the values out without "
            "nested aliases (a tmesig configuration holds a few hundred values)"
        )


def _not_finite(value: Any, where: str = "") -> list[str]:
    """The dotted keys of every NaN or infinite number in ``value``."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{where or '(top level)'}: {value}"]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _not_finite(v, f"{where}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _not_finite(v, f"{where}[{i}]")]
    return []


def check_finite(config: Mapping[str, Any], where: str) -> None:
    """Refuse a NaN or infinite number anywhere in the configuration (``.nan``, ``.inf``).

    Parameters
    ----------
    config
        The configuration as loaded (after :func:`check_size`).
    where
        The file(s) it was read from, named in the message.

    Raises
    ------
    InputError
        Naming the files, every such key and the fix.
    """
    bad = _not_finite(dict(config))
    if bad:
        raise InputError(
            f"{where}: invalid configuration - {'; '.join(bad[:10])}: not a finite number (a "
            "NaN passes every range check and then compares false with everything; an "
            "infinite timeout or threshold breaks the stage that uses it). Fix: give a finite "
            "number (e.g. 1e9 for 'very large')"
        )


def check_contrast(config: Mapping[str, Any], where: str) -> None:
    """Refuse ``conditions.reference`` without ``conditions.test`` (or the reverse), or the two
    naming the same condition (a comparison of a condition with itself).

    Parameters
    ----------
    config
        The configuration, valid against the schema.
    where
        The file(s) it was read from, named in the message.

    Raises
    ------
    InputError
        Naming the files, the keys and the fix.
    """
    section = config.get("conditions", {})
    reference, test = section.get("reference"), section.get("test")
    if (reference is None) != (test is None):
        given, other = ("reference", "test") if test is None else ("test", "reference")
        raise InputError(
            f"{where}: invalid configuration - conditions.{given} is set "
            f"({section[given]!r}) but conditions.{other} is not; the comparison needs both. "
            f"Fix: set conditions.{other} to the other condition, or remove conditions.{given} "
            "(with exactly two conditions in the data, the alphabetically first is the reference)"
        )
    if reference is not None and str(reference).strip() == str(test).strip():
        raise InputError(
            f"{where}: invalid configuration - conditions.reference and conditions.test are "
            f"both {reference!r}: a condition compared with itself. Fix: set conditions.test "
            "to the other condition"
        )


def check_author_labels(config: Mapping[str, Any], where: str) -> None:
    """Refuse ``annotate.use_author_labels`` without ``annotate.label_mapping``: the authors'
    free-text labels ('T_cell', 'Macrophage') would become lineages no stage knows.

    Parameters
    ----------
    config
        The configuration, valid against the schema.
    where
        The file(s) it was read from, named in the message.

    Raises
    ------
    InputError
        Naming the files, the keys and the fix.
    """
    section = config.get("annotate", {})
    if section.get("use_author_labels") and not section.get("label_mapping"):
        raise InputError(
            f"{where}: invalid configuration - annotate.use_author_labels is true but "
            "annotate.label_mapping is empty: the authors' labels would be used as lineages "
            "as written, and no lineage-specific stage (T-cell states, malignant calls, the "
            "lineage flags) knows them. Fix: map each author label to a lineage (T_NK, "
            "B_plasma, myeloid, mast, neutrophil, fibroblast, endothelial, epithelial) or to "
            "unassigned in annotate.label_mapping, or set use_author_labels to false"
        )


def _strict_loader() -> type:
    """A YAML SafeLoader that refuses a mapping key given twice (PyYAML keeps the last)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _DuplicateKey(key, seen[key], line)
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, second: int) -> None:
        super().__init__(key, first, second)
        self.key, self.first, self.second = key, first, second


def check_config_file(path: str | Path) -> None:
    """Refuse a config file in which a key appears twice in the same mapping, or a yte
    template (a top-level ``__use_yte__``).

    Parameters
    ----------
    path
        A configuration file Snakemake read (a name that is not a readable file is skipped).

    Raises
    ------
    InputError
        Naming the file, the line(s) or key, and the fix.
    """
    import yaml

    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return  # Snakemake read the file; a name that is not a file is only named in messages
    try:
        doc = yaml.load(text, Loader=_strict_loader())  # a SafeLoader subclass: no tags run code
    except _DuplicateKey as dup:
        raise InputError(
            f"{path}: line {dup.second}: the key {dup.key!r} appears a second time in the same "
            f"block (first at line {dup.first}); YAML keeps only the last one, so the settings "
            "of the first would be silently lost. Fix: merge the two into one block"
        ) from None
    except yaml.YAMLError:
        return  # Snakemake has already parsed the file; its own errors come first
    if isinstance(doc, dict) and "__use_yte__" in doc:
        raise InputError(
            f"{path}: the configuration is a yte template (__use_yte__): Snakemake evaluates "
            "its Python expressions when it loads the file, before any check, and the values "
            "tmesig validates are not the ones written. tmesig configurations are plain YAML. "
            "Fix: remove __use_yte__ and write the values out (and do not run configuration "
            "files from others that hold it: their code has already run)"
        )
