"""The JSON schemas spell the shared names exactly as tmesig.constants does."""

import pytest
import yaml
from tmesig import constants
from tmesig.paths import SCHEMAS_DIR


def _schema(name):
    return yaml.safe_load((SCHEMAS_DIR / name).read_text())


@pytest.mark.parametrize("key", ["label_mapping", "celltypist_mapping"])
def test_config_lineage_enums(key):
    spec = _schema("config.schema.yaml")["properties"]["annotate"]["properties"][key]
    enum = spec["additionalProperties"]["enum"]
    assert tuple(enum) == (*constants.LINEAGES, constants.UNASSIGNED)


def test_every_lineage_enum_of_the_config_schema_is_checked():
    """Any enum holding a lineage name is one of the two mappings above."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            if constants.LINEAGES[0] in node.get("enum", ()):
                found.append(where)
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    walk(_schema("config.schema.yaml"), "")
    assert sorted(found) == [
        ".properties.annotate.properties.celltypist_mapping.additionalProperties",
        ".properties.annotate.properties.label_mapping.additionalProperties",
    ]


def test_flag_unit_enum_names_obs_columns():
    unit = _schema("config.schema.yaml")["properties"]["flag"]["properties"]["unit"]
    assert tuple(unit["enum"]) == (constants.COL_SAMPLE, constants.COL_PATIENT)


def test_signature_schema_enums():
    props = _schema("signature.schema.yaml")["properties"]
    assert tuple(props["compartments"]["items"]["anyOf"][0]["enum"]) == constants.SET_COMPARTMENTS
    assert tuple(props["direction"]["enum"]) == constants.DIRECTIONS
    assert tuple(props["category"]["enum"]) == constants.SET_CATEGORIES
    assert set(constants.SET_CATEGORY_LABELS) == set(constants.SET_CATEGORIES)


def test_direction_sign():
    assert set(constants.DIRECTION_SIGN) == set(constants.DIRECTIONS)
    assert constants.direction_sign("up") == 1.0 and constants.direction_sign("down") == -1.0
    assert constants.SET_COMPARTMENTS[: len(constants.LINEAGES)] == constants.LINEAGES
