"""The project's conventions (docs/CONTRIBUTING.md), enforced on the dbt manifest."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.defs.dbt import DBT_PROJECT, prepare_dbt_project

PREFIXES = {
    "staging": ("stg_",),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_"),
    "sync": ("crm_",),
}
# Marts named for what they are rather than a fact or dimension.
NAMED_MARTS = {"data_dictionary"}
# Intermediate models that read a mart. Each is a building block of marts
# further down (task episodes from signals; journey gates from the MRR
# bridge); a new entry here needs the same justification.
KNOWN_MART_READERS = {
    ("int_account_signal_episodes", "model.cs_warehouse.fct_account_signals"),
    ("int_account_journey_gates", "model.cs_warehouse.fct_account_mrr_monthly"),
}


@pytest.fixture(scope="module")
def models() -> list[dict]:
    prepare_dbt_project(force=True)
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def _layer(model: dict) -> str:
    return model["fqn"][1]


def test_model_names_carry_their_layer(models):
    wrong = [
        m["name"]
        for m in models
        if not m["name"].startswith(PREFIXES[_layer(m)]) and m["name"] not in NAMED_MARTS
    ]
    assert wrong == []


def test_staging_models_name_their_source(models):
    wrong = []
    for model in models:
        if _layer(model) != "staging":
            continue
        source_folder = model["fqn"][2]
        # Plural entities; "history" is already a collection.
        if not re.fullmatch(rf"stg_{source_folder}__[a-z0-9_]+(s|history)", model["name"]):
            wrong.append(model["name"])
    assert wrong == []


def test_staging_models_read_only_sources(models):
    reading_models = {
        m["name"]: [d for d in m["depends_on"]["nodes"] if d.startswith("model.")]
        for m in models
        if _layer(m) == "staging"
    }
    assert {name: deps for name, deps in reading_models.items() if deps} == {}


def test_nothing_upstream_reads_a_mart(models):
    marts = {m["unique_id"] for m in models if _layer(m) == "marts"}
    wrong = {
        (m["name"], d)
        for m in models
        if _layer(m) in ("staging", "intermediate")
        for d in m["depends_on"]["nodes"]
        if d in marts
    }
    assert wrong - KNOWN_MART_READERS == set()


def test_marts_and_sync_models_have_contracts_and_owners(models):
    wrong = []
    for model in models:
        if _layer(model) not in ("marts", "sync"):
            continue
        if not model["config"]["contract"]["enforced"]:
            wrong.append((model["name"], "no enforced contract"))
        if not (model["config"].get("meta") or {}).get("owner"):
            wrong.append((model["name"], "no owner"))
    assert wrong == []


def test_every_model_states_its_grain(models):
    missing = [
        m["name"] for m in models if not re.search(r"\bone row per\b", m["description"], re.I)
    ]
    assert missing == []


def test_typed_columns_follow_the_suffix_rules(models):
    wrong = []
    for model in models:
        for column in model["columns"].values():
            name, data_type = column["name"], (column.get("data_type") or "").lower()
            if data_type == "boolean" and not name.startswith(("is_", "has_")):
                wrong.append(f"{model['name']}.{name}: boolean without is_/has_")
            if data_type.startswith("timestamp") and not name.endswith("_at"):
                wrong.append(f"{model['name']}.{name}: timestamp without _at")
            # date_day is the day of a daily grain; *_month a month's first day.
            if data_type == "date" and not (
                name.endswith(("_date", "_month")) or name == "date_day"
            ):
                wrong.append(f"{model['name']}.{name}: date without _date")
    assert wrong == []
