"""The baseline: dbt's compiled SQL run straight through the DuckDB Python API.

The same work ``dbt build`` does, without dbt: seeds read by DuckDB, every
model's compiled SQL in dependency order (a view as a view, everything else,
incremental models included, as a full table, as a first build makes them),
then every data test's compiled query. What dbt adds on top (parsing,
rendering, contracts' typed create-then-insert, persisted column comments,
unit tests, its own bookkeeping) is what the ratio to this baseline shows.

The SQL comes from ``dbt compile --full-refresh`` run against the raw-loaded
copy, so relation names point at that copy and ``is_incremental()`` is false.
"""

import json
import time
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

BUILT_MATERIALIZATIONS = ("view", "table", "incremental")


@dataclass
class BaselineResult:
    seeds: int = 0
    models: int = 0
    tests: int = 0
    failing_tests: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)


def build_order(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Seeds and non-ephemeral models, each after everything it reads.

    Ephemeral models are left out: their SQL is inlined into the models that
    use them, as dbt does.
    """
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "seed"
        or (
            node["resource_type"] == "model"
            and node["config"]["materialized"] in BUILT_MATERIALIZATIONS
        )
    }
    graph = {
        uid: [p for p in node["depends_on"].get("nodes", []) if p in nodes]
        for uid, node in nodes.items()
    }
    return [nodes[uid] for uid in TopologicalSorter(graph).static_order()]


def data_tests(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("compiled_code")
    ]


def _schema_of(node: dict[str, Any]) -> str:
    return f'"{node["database"]}"."{node["schema"]}"'


def _seed_reader(node: dict[str, Any]) -> str:
    """read_csv of a seed file, with the column types its YAML pins."""
    path = Path(node["root_path"]) / node["original_file_path"]
    types = node["config"].get("column_types") or {}
    options = ["header = true"]
    if types:
        pinned = ", ".join(f"'{name}': '{kind}'" for name, kind in types.items())
        options.append(f"types = {{{pinned}}}")
    return f"read_csv('{path}', {', '.join(options)})"


def run_baseline(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> BaselineResult:
    """Build every seed and model, then run every data test; time each phase."""
    result = BaselineResult()
    order = build_order(manifest)
    for schema in sorted({_schema_of(node) for node in order}):
        con.execute(f"create schema if not exists {schema}")

    phase_started = time.perf_counter()
    for node in order:
        if node["resource_type"] != "seed":
            continue
        con.execute(
            f"create or replace table {node['relation_name']} as "
            f"select * from {_seed_reader(node)}"
        )
        result.seeds += 1
    result.seconds["seeds"] = time.perf_counter() - phase_started

    phase_started = time.perf_counter()
    for node in order:
        if node["resource_type"] != "model":
            continue
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        con.execute(
            f"create or replace {kind} {node['relation_name']} as\n{node['compiled_code']}"
        )
        result.models += 1
    result.seconds["models"] = time.perf_counter() - phase_started

    phase_started = time.perf_counter()
    for node in data_tests(manifest):
        (failures,) = con.execute(
            f"select count(*) from (\n{node['compiled_code']}\n) as dbt_test"
        ).fetchone()
        result.tests += 1
        if failures:
            result.failing_tests.append(f"{node['name']}: {failures}")
    result.seconds["tests"] = time.perf_counter() - phase_started
    result.seconds["total"] = sum(result.seconds.values())

    # Not timed: row counts to compare with what dbt built.
    for node in order:
        if node["resource_type"] == "model" and node["config"]["materialized"] != "view":
            (count,) = con.execute(f"select count(*) from {node['relation_name']}").fetchone()
            result.row_counts[f"{node['schema']}.{node['alias']}"] = int(count)
    return result


def load_manifest(target_dir: Path) -> dict[str, Any]:
    return json.loads((target_dir / "manifest.json").read_text())
