"""The serving copy as a Dagster asset: the last step of every build.

``serving_copy`` (group ``serving``) republishes the marts, the sync models,
the CRM sync's state and the loader's audit to the read-only file dashboards
and BI tools open (``orchestration.serving``, docs/serving.md). It depends on
both CRM pushes and directly on every mart and sync model: Dagster stops an
asset when a blocking check fails on one of its direct parents only, so this
way a failed blocking check anywhere in the published marts (a GX suite, a
dbt test) leaves the previous copy in place instead of publishing bad numbers.
"""

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from orchestration.defs.crm import PUSH_OWNERS
from orchestration.defs.raw import TRANSIENT_RETRY_POLICY
from orchestration.resources import WarehouseResource
from orchestration.serving import PUBLISHED_SCHEMAS, publish_serving_copy
from orchestration.settings import Settings

SERVING_GROUP = "serving"
SERVING_ASSET = dg.AssetKey("serving_copy")


class ServingResource(dg.ConfigurableResource):
    """Where the serving copy is published (``CS_SERVING_PATH``)."""

    path: str

    @classmethod
    def for_warehouse(cls, settings: Settings, duckdb_path: Path) -> "ServingResource":
        """The serving copy of a warehouse.

        The configured warehouse publishes to the configured path; any other (a
        test's temporary warehouse) publishes beside itself, so a test build
        never replaces the copy a dashboard is reading.
        """
        duckdb_path = Path(duckdb_path)
        if duckdb_path.resolve() == settings.duckdb_path.resolve():
            return cls(path=str(settings.serving_path))
        return cls(path=str(duckdb_path.with_name(duckdb_path.stem + "_serving.duckdb")))


def published_models(keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The dbt assets among ``keys`` whose tables a publish copies (keys are [schema, model])."""
    return sorted(key for key in keys if len(key.path) == 2 and key.path[0] in PUBLISHED_SCHEMAS)


def build_serving_asset(upstream: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The asset that publishes the serving copy after everything in ``upstream``."""

    @dg.asset(
        key=SERVING_ASSET,
        group_name=SERVING_GROUP,
        owners=PUSH_OWNERS,
        deps=sorted(set(upstream)),
        retry_policy=TRANSIENT_RETRY_POLICY,
        kinds={"duckdb", "python"},
        description=(
            "Publish the marts, sync models, CRM sync state and loader audit to the "
            "read-only serving copy that dashboards and BI tools open, swapped in whole "
            "by an atomic rename (docs/serving.md)."
        ),
    )
    def serving_copy(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        serving: ServingResource,
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            publication = publish_serving_copy(
                con,
                Path(serving.path),
                dt.date.fromisoformat(warehouse.as_of_date),
                context.run_id,
            )
        total = sum(publication.row_counts.values())
        context.log.info(
            f"Published {len(publication.row_counts)} tables ({total:,} rows, "
            f"{publication.size_mb:.1f} MB) to {publication.path}"
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(publication.path)),
                "published_at": publication.published_at.isoformat(timespec="seconds") + "Z",
                "as_of_date": publication.as_of_date.isoformat(),
                "tables": len(publication.row_counts),
                "row_counts": dg.MetadataValue.json(publication.row_counts),
                "size_mb": round(publication.size_mb, 2),
                "rows": total,
            }
        )

    return serving_copy
