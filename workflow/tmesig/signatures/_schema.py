"""The JSON schema of one gene-set file (``workflow/schemas/signature.schema.yaml``)."""

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tmesig import paths

__all__ = ["SIGNATURE_SCHEMA", "load_schema", "schema_errors"]

#: JSON schema (YAML) of one set file.
SIGNATURE_SCHEMA: Path = paths.SCHEMAS_DIR / "signature.schema.yaml"


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    """Load the JSON schema of one set file.

    Parameters
    ----------
    path : str or Path, optional
        Schema file; default :data:`SIGNATURE_SCHEMA`.

    Returns
    -------
    dict
        The parsed schema.

    Raises
    ------
    FileNotFoundError
        If the schema file does not exist.
    """
    schema_path = Path(path) if path is not None else SIGNATURE_SCHEMA
    if not schema_path.is_file():
        msg = (
            f"{schema_path}: signature schema not found; restore "
            "workflow/schemas/signature.schema.yaml from the repository."
        )
        raise FileNotFoundError(msg)
    with schema_path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=4)
def _schema_validator(schema_path: str) -> jsonschema.protocols.Validator:
    schema = load_schema(Path(schema_path))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _format_schema_error(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "<top level>"
    return f"at '{where}': {error.message}"


def schema_errors(data: Any, *, schema: str | Path | None = None) -> list[str]:
    """Validate one parsed set file against the schema.

    Parameters
    ----------
    data : Any
        The parsed YAML of one set file.
    schema : str or Path, optional
        Schema file; default :data:`SIGNATURE_SCHEMA`.

    Returns
    -------
    list of str
        One ``at '<where>': <problem>`` line per violation, ordered by location; empty
        when the data matches the schema.
    """
    schema_path = str(Path(schema).resolve()) if schema is not None else str(SIGNATURE_SCHEMA)
    validator = _schema_validator(schema_path)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_format_schema_error(e) for e in errors]
