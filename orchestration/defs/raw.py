"""Raw layer: one multi-asset per source loads its landing files into DuckDB.

Asset keys are ``[source, table]``, the keys dagster-dbt gives the matching
dbt sources, so the staging models hang off these assets in one graph.

Each table's materialization carries its row count, what the run loaded, how
long the table took to load and when its newest landing file arrived, so the
Dagster UI shows at a glance which source is late or slow.
"""


import datetime as dt
import time
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.ingest.contracts import SourceContract, load_contracts
from orchestration.ingest.loader import (
    FileLoadResult,
    SourceLoadReport,
    landing_files,
    load_source,
)
from orchestration.resources import WarehouseResource

RAW_GROUP = "raw"
# Loading and the landing contracts belong to the team that owns the dbt
# staging layer, as in each staging folder's dbt meta.
RAW_OWNERS = ["team:analytics-engineering"]

# Retries for the steps that write to the warehouse or the CRM from outside
# dbt: the raw loads here and the CRM pushes (orchestration/defs/crm.py). Both
# are safe to re-run from the start: the loader skips files it already holds
# and replaces a changed file's rows in one transaction, and the sync engine
# commits each batch the CRM confirmed, so a re-run sends only the rest. What
# fails transiently is outside the code: the DuckDB file locked by another
# process (a BI tool, a shell), a full or slow disk, a network drop longer than
# the CRM client's own retries. Waits of about 2, 6 and 14 seconds (each moved
# by up to 2 seconds of jitter, so retries of parallel runs do not line up)
# give such a cause time to clear without holding a daily run for minutes;
# failures no retry can fix raise ``dg.Failure(allow_retries=False)``.
TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3,
    delay=2,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


def _table_spec(source: SourceContract, table) -> dg.AssetSpec:
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(name=c.name, type=c.data_type, description=c.description)
            for c in table.columns
        ]
    )
    return dg.AssetSpec(
        key=dg.AssetKey([source.name, table.table]),
        description=(
            f"Raw `{source.name}.{table.table}` loaded from "
            f"`<landing>/{source.name}/{table.table}/*.csv`. {table.description}"
        ),
        group_name=RAW_GROUP,
        owners=RAW_OWNERS,
        kinds={"duckdb", "csv"},
        metadata={"dagster/column_schema": columns},
    )


def newest_file_time(landing_dir: Path, source: str, table: str) -> dt.datetime | None:
    """When the newest landing file of a table was last written (UTC), if it has any."""
    files = landing_files(landing_dir, source, table)
    if not files:
        return None
    newest = max(path.stat().st_mtime for path in files)
    return dt.datetime.fromtimestamp(newest, tz=dt.UTC)


def build_raw_source_asset(source: SourceContract) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"raw_{source.name}",
        specs=[_table_spec(source, t) for t in source.tables],
        description=f"Load the {source.name} landing files into the `{source.name}` schema.",
        retry_policy=TRANSIENT_RETRY_POLICY,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        def log_file(result: FileLoadResult) -> None:
            if result.status == "failed":
                context.log.error(result.error)
            else:
                context.log.info(
                    f"{result.file}: {result.status}, {result.rows_loaded} rows loaded, "
                    f"{result.rows_quarantined} quarantined"
                )

        landing_dir = Path(warehouse.landing_dir)
        reports: dict[str, SourceLoadReport] = {}
        seconds: dict[str, float] = {}
        totals: dict[str, int] = {}
        with warehouse.connect() as con:
            # One table at a time, so each one's load time is measured on its own.
            for table in source.tables:
                clock = time.perf_counter()
                reports[table.table] = load_source(
                    con, source, landing_dir, tables=[table.table], on_file=log_file
                )
                seconds[table.table] = time.perf_counter() - clock
                totals[table.table] = con.execute(
                    f'select count(*) from "{source.name}"."{table.table}"'
                ).fetchone()[0]

        for table in source.tables:
            report = reports[table.table]
            metadata: dict[str, Any] = {
                "files_seen": len(report.files),
                "files_loaded": sum(f.status == "loaded" for f in report.files),
                "files_failed": len(report.failures),
                "rows_loaded": report.rows_loaded(),
                "rows_quarantined": report.rows_quarantined(),
                "load_seconds": round(seconds[table.table], 3),
                "dagster/row_count": int(totals[table.table]),
            }
            newest = newest_file_time(landing_dir, source.name, table.table)
            # A table with no landing file yet has no newest file to show.
            if newest is not None:
                metadata["newest_file_at"] = dg.MetadataValue.timestamp(newest)
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([source.name, table.table]), metadata=metadata
            )

        # Every readable file has loaded by now; a broken one fails the asset
        # so nothing downstream builds on a partial source. Retrying cannot fix
        # a file: a corrected or completed delivery is a new file version,
        # which the landing sensor picks up and starts a new run for.
        failures = [f for report in reports.values() for f in report.failures]
        if failures:
            raise dg.Failure(
                description="\n".join(f.error or f.file for f in failures),
                metadata={"failed_files": [f.file for f in failures]},
                allow_retries=False,
            )

    return _load


def build_raw_assets() -> list[dg.AssetsDefinition]:
    return [build_raw_source_asset(s) for s in load_contracts().values()]
