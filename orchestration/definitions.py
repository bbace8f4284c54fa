"""The single Dagster entry point: ``dagster dev`` and ``make run`` load this."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.crm import CrmResource, build_crm_assets, build_crm_checks
from orchestration.defs.dbt import DBT_PROJECT, build_dbt_assets, dbt_executable
from orchestration.defs.expectations import build_gx_checks
from orchestration.defs.freshness import build_source_freshness_checks
from orchestration.defs.raw import build_raw_assets, loader_table_specs
from orchestration.defs.schedules import build_schedules_and_sensors
from orchestration.defs.serving import ServingResource, build_serving_asset, published_models
from orchestration.resources import WarehouseResource
from orchestration.settings import load_settings

# Every asset of the project, in one job. DuckDB allows one writer per file,
# so steps run one after another in this process rather than in parallel
# subprocesses that would contend for the file lock.
build_warehouse_job = dg.define_asset_job(
    name="build_warehouse",
    selection=dg.AssetSelection.all(),
    description=(
        "Load every source, build and test every dbt model, push the sync models "
        "to the CRM, then publish the read-only serving copy."
    ),
    executor_def=dg.in_process_executor,
)


def build_definitions(
    warehouse: WarehouseResource | None = None,
    crm: CrmResource | None = None,
    serving: ServingResource | None = None,
) -> dg.Definitions:
    """Definitions wired to a warehouse; tests pass one on temporary paths.

    Without a CRM resource, a temporary warehouse pushes to a sandbox beside it
    (``CrmResource.for_warehouse``); only the configured one reaches a real CRM.
    Likewise only the configured warehouse publishes to the configured serving
    copy; a temporary one publishes beside itself.
    """
    settings = load_settings()
    warehouse = warehouse or WarehouseResource.from_settings(settings)
    crm = crm or CrmResource.for_warehouse(settings, Path(warehouse.duckdb_path))
    serving = serving or ServingResource.for_warehouse(settings, Path(warehouse.duckdb_path))
    schedules, sensors = build_schedules_and_sensors(build_warehouse_job)
    dbt_assets = build_dbt_assets()
    crm_assets = build_crm_assets()
    pushes = [key for asset in crm_assets for key in asset.keys]
    return dg.Definitions(
        assets=[
            *build_raw_assets(warehouse),
            *loader_table_specs(),
            dbt_assets,
            *crm_assets,
            build_serving_asset([*pushes, *published_models(dbt_assets.keys)]),
        ],
        asset_checks=[
            *build_crm_checks(),
            *build_gx_checks(),
            *build_source_freshness_checks(),
        ],
        jobs=[build_warehouse_job],
        schedules=schedules,
        sensors=sensors,
        resources={
            "warehouse": warehouse,
            "crm": crm,
            "serving": serving,
            "dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable()),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
