"""Raw layer: one multi-asset per source loads its landing files into DuckDB.

Asset keys are ``[source, table]``, the keys dagster-dbt gives the matching
dbt sources, so the staging models hang off these assets in one graph.

Product events (``segment.tracks``) are the one table that grows by millions
of rows a day, so it is its own asset with daily partitions: partition D
loads the files of ``<landing>/segment/tracks/event_date=D/`` (the events
Segment received that day, late arrivals included) and nothing else. A run
over a range of days loads them in one step (single-run backfill policy), and
a run without a partition (the ``build_warehouse`` job started by hand, the
landing sensor) loads every file not loaded yet, as for any other table. The
partitions start on the first landing day (or 24 months before the as-of
month, the demo's history, when that is earlier or nothing has landed) and
end on the as-of day, resolved when the definitions load, like the as-of
date the resources carry.

Each table's materialization carries its row count, what the run loaded, how
long the table took to load and when its newest landing file arrived, so the
Dagster UI shows at a glance which source is late or slow.
"""


import datetime as dt
import time
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.ingest.contracts import SourceContract, TableContract, load_contracts
from orchestration.ingest.loader import (
    AUDIT_TABLE,
    QUARANTINE_TABLE,
    FileLoadResult,
    SourceLoadReport,
    landing_files,
    load_source,
    table_partitions,
)
from orchestration.resources import WarehouseResource
from orchestration.settings import load_settings

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


# Tables loaded per day of landing files, each as its own partitioned asset.
PARTITIONED_TABLES = {("segment", "tracks")}
# Months of history the partitions cover at least: the demo generator's default.
HISTORY_MONTHS = 24


def _column_schema(table: TableContract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=c.name, type=c.data_type, description=c.description)
            for c in table.columns
        ]
    )


def _table_spec(source: SourceContract, table: TableContract) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=dg.AssetKey([source.name, table.table]),
        description=(
            f"Raw `{source.name}.{table.table}` loaded from "
            f"`<landing>/{source.name}/{table.table}/*.csv`. {table.description}"
        ),
        group_name=RAW_GROUP,
        owners=RAW_OWNERS,
        kinds={"duckdb", "csv"},
        metadata={"dagster/column_schema": _column_schema(table)},
    )


def newest_file_time(
    landing_dir: Path, source: str, table: str, partitions: list[str] | None = None
) -> dt.datetime | None:
    """When the newest landing file of a table (or of some partitions) was written (UTC)."""
    files = landing_files(landing_dir, source, table, partitions)
    if not files:
        return None
    newest = max(path.stat().st_mtime for path in files)
    return dt.datetime.fromtimestamp(newest, tz=dt.UTC)


def _table_metadata(
    report: SourceLoadReport, seconds: float, total: int, newest: dt.datetime | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "files_seen": len(report.files),
        "files_loaded": sum(f.status == "loaded" for f in report.files),
        "files_failed": len(report.failures),
        "rows_loaded": report.rows_loaded(),
        "rows_quarantined": report.rows_quarantined(),
        "load_seconds": round(seconds, 3),
        "dagster/row_count": int(total),
    }
    # A table with no landing file yet has no newest file to show.
    if newest is not None:
        metadata["newest_file_at"] = dg.MetadataValue.timestamp(newest)
    return metadata


def _fail_on_broken_files(reports: list[SourceLoadReport]) -> None:
    """Every readable file has loaded by now; a broken one fails the asset.

    Nothing downstream builds on a partial source. Retrying cannot fix a
    file: a corrected or completed delivery is a new file version, which the
    landing sensor picks up and starts a new run for.
    """
    failures = [f for report in reports for f in report.failures]
    if failures:
        raise dg.Failure(
            description="\n".join(f.error or f.file for f in failures),
            metadata={"failed_files": [f.file for f in failures]},
            allow_retries=False,
        )


def _file_logger(context: dg.AssetExecutionContext):
    def log_file(result: FileLoadResult) -> None:
        if result.status == "failed":
            context.log.error(result.error)
        else:
            context.log.info(
                f"{result.file}: {result.status}, {result.rows_loaded} rows loaded, "
                f"{result.rows_quarantined} quarantined"
            )

    return log_file


def _unpartitioned(source: SourceContract) -> list[TableContract]:
    return [t for t in source.tables if (source.name, t.table) not in PARTITIONED_TABLES]


def build_raw_source_asset(source: SourceContract) -> dg.AssetsDefinition:
    """One step loading every unpartitioned table of a source."""
    tables = _unpartitioned(source)

    @dg.multi_asset(
        name=f"raw_{source.name}",
        specs=[_table_spec(source, t) for t in tables],
        description=f"Load the {source.name} landing files into the `{source.name}` schema.",
        retry_policy=TRANSIENT_RETRY_POLICY,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        log_file = _file_logger(context)
        landing_dir = Path(warehouse.landing_dir)
        reports: dict[str, SourceLoadReport] = {}
        seconds: dict[str, float] = {}
        totals: dict[str, int] = {}
        with warehouse.connect() as con:
            # One table at a time, so each one's load time is measured on its own.
            for table in tables:
                clock = time.perf_counter()
                reports[table.table] = load_source(
                    con, source, landing_dir, tables=[table.table], on_file=log_file
                )
                seconds[table.table] = time.perf_counter() - clock
                totals[table.table] = con.execute(
                    f'select count(*) from "{source.name}"."{table.table}"'
                ).fetchone()[0]

        for table in tables:
            newest = newest_file_time(landing_dir, source.name, table.table)
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([source.name, table.table]),
                metadata=_table_metadata(
                    reports[table.table], seconds[table.table], totals[table.table], newest
                ),
            )
        _fail_on_broken_files(list(reports.values()))

    return _load


def partitions_start(landing_dir: Path, source: str, table: str, as_of: dt.date) -> dt.date:
    """The first landing day of a table, or the start of the default history if earlier."""
    month = as_of.year * 12 + as_of.month - 1 - HISTORY_MONTHS
    start = dt.date(month // 12, month % 12 + 1, 1)
    for value in table_partitions(landing_dir, source, table):
        try:
            return min(start, dt.date.fromisoformat(value))
        except ValueError:
            continue
    return start


def daily_partitions(
    landing_dir: Path, source: str, table: str, as_of: dt.date
) -> dg.DailyPartitionsDefinition:
    """One partition per landing day, from the first one through the as-of day."""
    return dg.DailyPartitionsDefinition(
        start_date=partitions_start(landing_dir, source, table, as_of).isoformat(),
        # end_date is exclusive: the day after the as-of day keeps the as-of day.
        end_date=(as_of + dt.timedelta(days=1)).isoformat(),
    )


def build_partitioned_table_asset(
    source: SourceContract, table: TableContract, partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """A raw table loaded per partition folder (``<column>=<day>/``) of its landing files."""

    @dg.asset(
        key=dg.AssetKey([source.name, table.table]),
        description=(
            f"Raw `{source.name}.{table.table}` loaded from "
            f"`<landing>/{source.name}/{table.table}/event_date=<day>/*.parquet`, one daily "
            f"partition per day the events were received. {table.description}"
        ),
        group_name=RAW_GROUP,
        owners=RAW_OWNERS,
        kinds={"duckdb", "parquet"},
        metadata={"dagster/column_schema": _column_schema(table)},
        partitions_def=partitions_def,
        # A range of days (a backfill, the whole history) loads in one step
        # and one DuckDB connection, not one run per day.
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT_RETRY_POLICY,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        log_file = _file_logger(context)
        landing_dir = Path(warehouse.landing_dir)
        # Without a partition (a whole-warehouse run) every file not loaded yet loads.
        days = (
            list(context.partition_keys)
            if context.has_partition_key or context.has_partition_key_range
            else None
        )
        clock = time.perf_counter()
        with warehouse.connect() as con:
            report = load_source(con, source, landing_dir, tables=[table.table],
                                 on_file=log_file, partitions=days)
            (total,) = con.execute(
                f'select count(*) from "{source.name}"."{table.table}"'
            ).fetchone()
        seconds = time.perf_counter() - clock
        newest = newest_file_time(landing_dir, source.name, table.table, days)
        metadata = _table_metadata(report, seconds, total, newest)
        metadata["partitions_loaded"] = 0 if days is None else len(days)
        yield dg.MaterializeResult(metadata=metadata)
        _fail_on_broken_files([report])

    return _load


def loader_table_specs() -> list[dg.AssetSpec]:
    """The loader's audit and quarantine tables, which every raw asset writes.

    They are declared, not materialized: no single asset owns them (each load
    step appends its own rows in the transaction that writes the raw rows).
    Declaring them puts them in the raw group next to their writers, where
    ``fct_source_health`` reads them, instead of dbt's ungrouped source stubs.
    """
    described = {
        AUDIT_TABLE: "One row per attempt to load a landing file, written by the loader.",
        QUARANTINE_TABLE: "One row per rejected landing row, with the file, line and reason.",
    }
    return [
        dg.AssetSpec(
            key=dg.AssetKey(relation.split(".")),
            group_name=RAW_GROUP,
            owners=RAW_OWNERS,
            description=description,
            kinds={"duckdb"},
        )
        for relation, description in described.items()
    ]


def build_raw_assets(warehouse: WarehouseResource | None = None) -> list[dg.AssetsDefinition]:
    """Every raw asset; partitions follow ``warehouse`` (else the settings)."""
    if warehouse is None:
        settings = load_settings()
        landing_dir, as_of = settings.landing_dir, settings.as_of_date
    else:
        landing_dir = Path(warehouse.landing_dir)
        as_of = dt.date.fromisoformat(warehouse.as_of_date)
    assets = []
    for source in load_contracts().values():
        if _unpartitioned(source):
            assets.append(build_raw_source_asset(source))
        for table in source.tables:
            if (source.name, table.table) in PARTITIONED_TABLES:
                partitions_def = daily_partitions(landing_dir, source.name, table.table, as_of)
                assets.append(build_partitioned_table_asset(source, table, partitions_def))
    return assets
