"""The reverse ETL's field mapping: which sync-model column goes to which CRM property.

The mapping lives in ``crm_mapping.yml`` at the project root so an analyst can
add a property without touching Python. A mistake in it would otherwise show
up as CRM errors on every record of every run (or worse, as a property written
with the wrong type), so the loader is strict: unknown keys, missing keys,
duplicate keys or properties, and types HubSpot would refuse are rejected with
a message naming the object, the field and the key. That every mapped column
exists in its sync model is checked against the dbt manifest by the tests and
against the built table before each push.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestration.settings import PROJECT_DIR

DEFAULT_MAPPING_PATH = PROJECT_DIR / "crm_mapping.yml"

# The dbt sync model each CRM object is written from.
SYNC_MODELS: dict[str, str] = {"companies": "crm_company_sync", "tasks": "crm_task_sync"}

# HubSpot property types, and the field types each one may be shown with.
FIELD_TYPES_BY_TYPE: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea"}),
    "number": frozenset({"number"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select"}),
    "bool": frozenset({"booleancheckbox"}),
}
NULL_POLICIES = ("skip", "clear")

# Company properties the warehouse writes are its own custom properties, so
# the sync can never overwrite a standard field a person maintains.
COMPANY_PROPERTY_PREFIX = "cs_"
# HubSpot internal names: lowercase, starting with a letter.
_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_TOP_KEYS = {"version", "property_group", "companies", "tasks"}
_GROUP_KEYS = {"name", "label"}
_OBJECT_KEYS = {"object_type", "key_column", "fields"}
_FIELD_REQUIRED = {"column", "property", "type", "field_type", "label", "description"}
_FIELD_KEYS = _FIELD_REQUIRED | {"null_policy"}
SUPPORTED_VERSION = 1


@dataclass(frozen=True)
class FieldMapping:
    """One sync-model column written to one CRM property."""

    column: str
    property: str
    type: str
    field_type: str
    label: str
    description: str
    # 'skip' never sends a null (the CRM keeps its value); 'clear' sends "".
    null_policy: str = "skip"


@dataclass(frozen=True)
class ObjectMapping:
    """The fields of one CRM object type and the column that identifies a record."""

    object_type: str
    key_column: str
    fields: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class CrmMapping:
    """The whole mapping: the property group the custom properties live in, per object."""

    property_group_name: str
    property_group_label: str
    companies: ObjectMapping
    tasks: ObjectMapping


class MappingError(ValueError):
    """The mapping file is not valid; the message names the file, the place and the key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


class _Reader:
    """Validation helpers that prefix every error with the file and the place."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> MappingError:
        return MappingError(f"{self.path.name}: {where}: {message}")

    def mapping(self, value: Any, where: str, required: set[str], allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, got {type(value).__name__}")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise self.fail(
                where,
                f"unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f"missing key(s) {', '.join(missing)}")
        return value

    def text(self, value: Any, where: str, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string, got {value!r}")
        return value.strip()

    def choice(self, value: Any, where: str, key: str, allowed: Iterable[str]) -> str:
        allowed = tuple(allowed)
        text = self.text(value, where, key)
        if text not in allowed:
            raise self.fail(where, f"'{key}' must be one of {', '.join(allowed)}, got {text!r}")
        return text


def _read_field(reader: _Reader, raw: Any, where: str, object_type: str) -> FieldMapping:
    prop = raw.get("property") if isinstance(raw, dict) else None
    if isinstance(prop, str) and prop.strip():
        where = f"{where} ({prop.strip()})"
    entry = reader.mapping(raw, where, _FIELD_REQUIRED, _FIELD_KEYS)
    prop = reader.text(prop, where, "property")
    if not _PROPERTY_NAME.match(prop):
        raise reader.fail(
            where, f"'property' {prop!r} is not a CRM internal name (lowercase letters, "
            "digits and underscores, starting with a letter)"
        )
    if object_type == "companies" and not prop.startswith(COMPANY_PROPERTY_PREFIX):
        raise reader.fail(
            where, f"company properties written by the warehouse must start with "
            f"{COMPANY_PROPERTY_PREFIX!r}, got {prop!r}"
        )
    prop_type = reader.choice(entry["type"], where, "type", FIELD_TYPES_BY_TYPE)
    field_type = reader.text(entry["field_type"], where, "field_type")
    if field_type not in FIELD_TYPES_BY_TYPE[prop_type]:
        raise reader.fail(
            where, f"'field_type' {field_type!r} does not suit type {prop_type!r} "
            f"(use {', '.join(sorted(FIELD_TYPES_BY_TYPE[prop_type]))})"
        )
    return FieldMapping(
        column=reader.text(entry["column"], where, "column"),
        property=prop,
        type=prop_type,
        field_type=field_type,
        label=reader.text(entry["label"], where, "label"),
        description=reader.text(entry["description"], where, "description"),
        null_policy=reader.choice(
            entry.get("null_policy", "skip"), where, "null_policy", NULL_POLICIES
        ),
    )


def _read_object(reader: _Reader, raw: Any, object_type: str) -> ObjectMapping:
    entry = reader.mapping(raw, object_type, _OBJECT_KEYS, _OBJECT_KEYS)
    declared = reader.text(entry["object_type"], object_type, "object_type")
    if declared != object_type:
        raise reader.fail(
            object_type, f"'object_type' must be {object_type!r}, got {declared!r}"
        )
    key_column = reader.text(entry["key_column"], object_type, "key_column")
    raw_fields = entry["fields"]
    if not isinstance(raw_fields, list) or not raw_fields:
        raise reader.fail(f"{object_type}.fields", "must be a non-empty list of fields")

    fields: list[FieldMapping] = []
    seen: dict[str, int] = {}
    for index, raw_field in enumerate(raw_fields):
        field = _read_field(reader, raw_field, f"{object_type}.fields[{index}]", object_type)
        if field.property in seen:
            raise reader.fail(
                f"{object_type}.fields[{index}] ({field.property})",
                f"property {field.property!r} is already mapped by "
                f"{object_type}.fields[{seen[field.property]}]",
            )
        seen[field.property] = index
        fields.append(field)
    return ObjectMapping(object_type=object_type, key_column=key_column, fields=tuple(fields))


def load_mapping(path: Path = DEFAULT_MAPPING_PATH) -> CrmMapping:
    """Read and validate the mapping file; raise MappingError naming what is wrong."""
    path = Path(path)
    reader = _Reader(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: mapping file not found") from exc
    except yaml.YAMLError as exc:
        raise MappingError(f"{path.name}: not valid YAML: {exc}") from exc

    top = reader.mapping(raw, "top level", _TOP_KEYS, _TOP_KEYS)
    if top["version"] != SUPPORTED_VERSION:
        raise reader.fail(
            "top level", f"'version' must be {SUPPORTED_VERSION}, got {top['version']!r}"
        )
    group = reader.mapping(top["property_group"], "property_group", _GROUP_KEYS, _GROUP_KEYS)
    group_name = reader.text(group["name"], "property_group", "name")
    if not _PROPERTY_NAME.match(group_name):
        raise reader.fail(
            "property_group", f"'name' {group_name!r} is not a CRM internal name"
        )
    return CrmMapping(
        property_group_name=group_name,
        property_group_label=reader.text(group["label"], "property_group", "label"),
        companies=_read_object(reader, top["companies"], "companies"),
        tasks=_read_object(reader, top["tasks"], "tasks"),
    )


def required_columns(objects: ObjectMapping) -> list[str]:
    """Columns the object's sync model must have: the key, then every mapped column."""
    columns = [objects.key_column]
    columns += [f.column for f in objects.fields if f.column not in columns]
    return columns


def missing_columns(
    mapping: CrmMapping, columns_by_model: Mapping[str, Iterable[str]]
) -> dict[str, list[str]]:
    """Mapped columns absent from their sync model, per model (empty when all exist).

    ``columns_by_model`` gives each sync model's columns, from the dbt manifest
    or from the built table; names compare case-insensitively, as DuckDB does.
    """
    problems: dict[str, list[str]] = {}
    for objects in (mapping.companies, mapping.tasks):
        model = SYNC_MODELS[objects.object_type]
        available = {c.lower() for c in columns_by_model.get(model, ())}
        missing = [c for c in required_columns(objects) if c.lower() not in available]
        if missing:
            problems[model] = missing
    return problems
