"""Shared fixtures: one small warehouse built end to end, once per session."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.demo_data.generator import GeneratorConfig, generate
from orchestration.resources import WarehouseResource

AS_OF = dt.date(2026, 6, 30)


@dataclass
class BuiltWarehouse:
    landing_dir: Path
    duckdb_path: Path
    result: dg.ExecuteInProcessResult

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """Generate 80 accounts over 12 months and run the whole Dagster job on them."""
    from orchestration.defs.dbt import prepare_dbt_project

    # A manifest left by an older checkout would miss newer models: parse now.
    prepare_dbt_project(force=True)
    from orchestration.definitions import build_definitions

    root = tmp_path_factory.mktemp("warehouse")
    landing = root / "landing"
    generate(GeneratorConfig(seed=7, accounts=80, months=12, as_of_date=AS_OF), landing)
    warehouse = WarehouseResource(
        duckdb_path=str(root / "warehouse.duckdb"),
        landing_dir=str(landing),
        as_of_date=AS_OF.isoformat(),
    )
    job = build_definitions(warehouse).resolve_job_def("build_warehouse")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    return BuiltWarehouse(landing, Path(warehouse.duckdb_path), result)
