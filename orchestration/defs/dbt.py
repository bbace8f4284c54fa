"""The dbt project as Dagster assets, grouped by layer.

Every dbt model and seed becomes an asset and every dbt test an asset check.
Groups follow the folders: ``staging``, ``intermediate``, ``marts``, ``sync``
and ``reference`` for seeds, so the graph in ``dagster dev`` reads by layer.
"""


import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_project import using_dagster_dev

from orchestration.resources import WarehouseResource, environment
from orchestration.settings import PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt beside this Python, so an unactivated virtualenv still works."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def prepare_dbt_project(force: bool = False) -> None:
    """Parse the dbt project into target/manifest.json when it is needed.

    ``dagster dev`` re-parses on every reload so edits show up; other entry
    points parse once when no manifest exists yet (a fresh clone), or when
    asked to (``force``, used by ``make run``).
    """
    if force or using_dagster_dev() or not DBT_PROJECT.manifest_path.exists():
        dbt = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())
        dbt.cli(["parse", "--quiet"], target_path=DBT_PROJECT.target_path).wait()


class LayerTranslator(DagsterDbtTranslator):
    """Asset groups from the dbt folder a node lives in; owners from its meta."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn") or []
        # fqn is [project, folder, subfolder…, name]; the folder is the layer.
        return fqn[1] if len(fqn) > 2 else "default"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        # The YAML's `meta.owner` is a team name; Dagster wants "team:<name>"
        # (or an email), so the UI shows who to ask about each asset.
        config_meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        owner = config_meta.get("owner") or (dbt_resource_props.get("meta") or {}).get("owner")
        if not owner:
            return super().get_owners(dbt_resource_props)
        return [owner if "@" in owner or owner.startswith("team:") else f"team:{owner}"]


def build_dbt_assets() -> dg.AssetsDefinition:
    prepare_dbt_project()

    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=LayerTranslator(),
        name="cs_warehouse_dbt",
    )
    def cs_warehouse_dbt(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
    ):
        # dbt reads the warehouse path and as-of date from the environment
        # (profiles.yml, dbt_project.yml); give it the resource's values.
        with environment(warehouse.dbt_env()):
            yield from dbt.cli(["build"], context=context).stream()

    return cs_warehouse_dbt
