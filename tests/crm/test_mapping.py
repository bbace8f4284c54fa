"""The CRM field mapping: the shipped file loads, errors name their field, columns exist."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from orchestration.crm.mapping import (
    DEFAULT_MAPPING_PATH,
    SYNC_MODELS,
    CrmMapping,
    FieldMapping,
    MappingError,
    load_mapping,
    missing_columns,
)
from orchestration.defs.dbt import DBT_PROJECT, dbt_executable


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_MAPPING_PATH.read_text())


def _write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "crm_mapping.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_shipped_mapping_loads():
    mapping = load_mapping(DEFAULT_MAPPING_PATH)
    assert isinstance(mapping, CrmMapping)
    assert mapping.property_group_name == "customer_success"
    assert mapping.property_group_label == "Customer Success (warehouse)"
    assert mapping.companies.object_type == "companies"
    assert mapping.companies.key_column == "account_id"
    assert mapping.tasks.key_column == "task_key"
    assert all(f.property.startswith("cs_") for f in mapping.companies.fields)
    score = next(f for f in mapping.companies.fields if f.column == "health_score")
    assert score == FieldMapping(
        column="health_score",
        property="cs_health_score",
        type="number",
        field_type="number",
        label="Health score",
        description=score.description,
        null_policy="clear",
    )
    task_key = next(f for f in mapping.tasks.fields if f.column == "task_key")
    assert task_key.property == "cs_task_key"


def test_null_policy_defaults_to_skip(tmp_path):
    data = _raw()
    del data["companies"]["fields"][0]["null_policy"]
    mapping = load_mapping(_write(tmp_path, data))
    assert mapping.companies.fields[0].null_policy == "skip"


def _field_error(tmp_path: Path, change) -> str:
    data = _raw()
    change(data)
    with pytest.raises(MappingError) as excinfo:
        load_mapping(_write(tmp_path, data))
    return str(excinfo.value)


def test_an_unknown_key_is_named_with_its_field(tmp_path):
    message = _field_error(
        tmp_path, lambda d: d["companies"]["fields"][1].update(colour="red")
    )
    assert "companies.fields[1] (cs_health_band)" in message
    assert "unknown key(s) colour" in message


def test_an_unknown_top_level_key_is_refused(tmp_path):
    message = _field_error(tmp_path, lambda d: d.update(contacts={}))
    assert "top level" in message and "contacts" in message


def test_a_missing_key_is_named(tmp_path):
    message = _field_error(tmp_path, lambda d: d["tasks"]["fields"][2].pop("label"))
    assert "tasks.fields[2] (hs_task_body)" in message and "missing key(s) label" in message


def test_a_duplicate_property_is_refused(tmp_path):
    def duplicate(data: dict) -> None:
        data["companies"]["fields"][3]["property"] = "cs_health_score"

    message = _field_error(tmp_path, duplicate)
    assert "companies.fields[3] (cs_health_score)" in message
    assert "already mapped by companies.fields[0]" in message


def test_a_duplicate_yaml_key_is_refused(tmp_path):
    text = DEFAULT_MAPPING_PATH.read_text().replace(
        "      property: cs_mrr\n", "      property: cs_mrr\n      property: cs_arr\n"
    )
    with pytest.raises(MappingError, match="duplicate key 'property'"):
        load_mapping(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("type", "integer", "'type' must be one of string, number"),
        ("field_type", "text", "'field_type' 'text' does not suit type 'number'"),
        ("null_policy", "overwrite", "'null_policy' must be one of skip, clear"),
        ("label", 42, "'label' must be a non-empty string, got 42"),
        ("column", "", "'column' must be a non-empty string"),
        ("property", "Health Score", "is not a CRM internal name"),
        ("property", "health_score", "must start with 'cs_'"),
    ],
)
def test_bad_values_name_the_field_and_key(tmp_path, key, value, expected):
    def change(data: dict) -> None:
        data["companies"]["fields"][0][key] = value

    message = _field_error(tmp_path, change)
    assert "companies.fields[0]" in message
    assert expected in message


def test_task_properties_may_be_hubspot_defined(tmp_path):
    mapping = load_mapping(DEFAULT_MAPPING_PATH)
    assert {"hs_task_subject", "hs_timestamp", "hubspot_owner_id"} <= {
        f.property for f in mapping.tasks.fields
    }


def test_object_sections_must_match_their_type(tmp_path):
    message = _field_error(tmp_path, lambda d: d["tasks"].update(object_type="companies"))
    assert "tasks: 'object_type' must be 'tasks'" in message


def test_an_empty_field_list_is_refused(tmp_path):
    message = _field_error(tmp_path, lambda d: d["tasks"].update(fields=[]))
    assert "tasks.fields: must be a non-empty list" in message


def test_an_unsupported_version_is_refused(tmp_path):
    message = _field_error(tmp_path, lambda d: d.update(version=2))
    assert "'version' must be 1" in message


def test_invalid_yaml_and_missing_file_are_clear(tmp_path):
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(_write(tmp_path, "companies: [unclosed"))
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mapping(tmp_path / "nowhere.yml")


def test_missing_columns_reports_per_model():
    mapping = load_mapping(DEFAULT_MAPPING_PATH)
    problems = missing_columns(
        mapping,
        {
            "crm_company_sync": ["ACCOUNT_ID", "health_score"],
            "crm_task_sync": [f.column for f in mapping.tasks.fields],
        },
    )
    assert "crm_task_sync" not in problems
    assert "health_band" in problems["crm_company_sync"]
    assert "account_id" not in problems["crm_company_sync"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """A fresh dbt manifest of the project (the checked-in target may be stale)."""
    target = tmp_path_factory.mktemp("dbt_parse")
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT.project_dir),
            "--profiles-dir",
            str(DBT_PROJECT.profiles_dir),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
        ],
        check=True,
        env={
            **os.environ,
            "CS_DUCKDB_PATH": str(target / "unused.duckdb"),
        },
    )
    return json.loads((target / "manifest.json").read_text())


def test_every_mapped_column_exists_in_its_sync_model(manifest):
    mapping = load_mapping(DEFAULT_MAPPING_PATH)
    columns_by_model = {}
    for model in SYNC_MODELS.values():
        node = manifest["nodes"][f"model.cs_warehouse.{model}"]
        # Contracted models: the documented columns are exactly the built ones.
        assert node["config"]["contract"]["enforced"]
        columns_by_model[model] = list(node["columns"])
    assert missing_columns(mapping, columns_by_model) == {}
