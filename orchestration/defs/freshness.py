"""Source freshness: one asset check per raw table, flagged in the Dagster UI.

Each raw table's check reads the newest value of its ``loaded_at_field`` and
compares its age with the table's ``warn_after`` / ``error_after`` windows,
all three read from the dbt sources YAML (``orchestration.ingest.contracts``),
the same definition dbt and ``marts.fct_source_health`` read.

Age is measured at the end of the as-of day (midnight UTC after
``WarehouseResource.as_of_date``), not at the wall clock: the warehouse
describes that day, and demo data is generated for it, so a wall-clock age
would call every warehouse built for a past day stale.

The checks never block: a stale source is flagged (WARN past its warn window,
ERROR past its error window or when the table holds no data) while the rest
of the build goes on. ``marts.fct_source_health`` reports the same statuses.
"""

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import duckdb

from orchestration.ingest.contracts import SourceContract, TableContract, load_contracts
from orchestration.resources import WarehouseResource

CHECK_NAME = "source_freshness"

# Statuses, as fct_source_health names them. `no_window` is a table with data
# whose YAML sets no freshness window (its newest row is a rare business event).
FRESH, WARN, ERROR, NO_DATA, NO_WINDOW = "fresh", "warn", "error", "no_data", "no_window"


@dataclass(frozen=True)
class TableFreshness:
    """What one raw table holds, measured at the end of the as-of day."""

    row_count: int
    last_loaded_at: dt.datetime | None
    measured_at: dt.datetime
    hours_since: float | None
    status: str


def as_of_end(as_of_date: str | dt.date) -> dt.datetime:
    """Midnight UTC after the as-of day (naive, like the raw timestamps)."""
    day = dt.date.fromisoformat(as_of_date) if isinstance(as_of_date, str) else as_of_date
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def freshness_status(
    hours_since: float | None, warn_after_hours: float | None, error_after_hours: float | None
) -> str:
    """fresh, warn, error, no_data or no_window; "past" a window means strictly beyond it."""
    if hours_since is None:
        return NO_DATA
    if error_after_hours is not None and hours_since > error_after_hours:
        return ERROR
    if warn_after_hours is not None and hours_since > warn_after_hours:
        return WARN
    if warn_after_hours is None and error_after_hours is None:
        return NO_WINDOW
    return FRESH


def _as_naive_utc(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    """A loaded_at value as naive UTC: an expression may give a date or a timestamptz."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def measure_table(
    con: duckdb.DuckDBPyConnection, table: TableContract, measured_at: dt.datetime
) -> TableFreshness:
    """Row count and newest loaded_at of one raw table; a missing table has no data."""
    # loaded_at_field is a SQL expression in dbt (finance casts a date), so it
    # goes into the query as written, the way `dbt source freshness` uses it.
    newest = f"max({table.loaded_at_field})" if table.loaded_at_field else "null"
    try:
        row_count, last_loaded_at = con.execute(
            f'select count(*), {newest} from "{table.source}"."{table.table}"'
        ).fetchone()
    except duckdb.CatalogException:
        row_count, last_loaded_at = 0, None
    last_loaded_at = _as_naive_utc(last_loaded_at)
    hours_since = (
        None if last_loaded_at is None else (measured_at - last_loaded_at).total_seconds() / 3600
    )
    if table.loaded_at_field is None and row_count > 0:
        # Nothing to measure the age by: the table only has to hold data.
        status = NO_WINDOW
    else:
        status = freshness_status(hours_since, table.warn_after_hours, table.error_after_hours)
    return TableFreshness(int(row_count), last_loaded_at, measured_at, hours_since, status)


def _duration(hours: float) -> str:
    # Windows of whole days read better in days (finance's are months long).
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} h"


def _window_text(table: TableContract) -> str:
    if table.warn_after_hours is None and table.error_after_hours is None:
        return "no freshness window"
    parts = [
        f"{label} after {_duration(hours)}"
        for label, hours in (("warn", table.warn_after_hours), ("error", table.error_after_hours))
        if hours is not None
    ]
    return ", ".join(parts)


def check_result(table: TableContract, measured: TableFreshness) -> dg.AssetCheckResult:
    """The check's verdict: WARN past warn_after, ERROR past error_after or without data."""
    if measured.status == NO_DATA:
        summary = (
            f"{table.qualified_name} holds no rows"
            if measured.row_count == 0
            else f"{table.qualified_name} has no {table.loaded_at_field} value"
        )
    else:
        summary = (
            f"newest {table.loaded_at_field} of {table.qualified_name} is "
            f"{measured.hours_since:.1f} h before the end of the as-of day"
        )
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey([table.source, table.table]),
        check_name=CHECK_NAME,
        passed=measured.status in (FRESH, NO_WINDOW),
        severity=(
            dg.AssetCheckSeverity.WARN if measured.status == WARN else dg.AssetCheckSeverity.ERROR
        ),
        description=f"{measured.status}: {summary} ({_window_text(table)}).",
        metadata={
            "freshness_status": measured.status,
            "loaded_at_field": table.loaded_at_field,
            "last_loaded_at": (
                dg.MetadataValue.timestamp(measured.last_loaded_at.replace(tzinfo=dt.UTC))
                if measured.last_loaded_at is not None
                else None
            ),
            "measured_at": dg.MetadataValue.timestamp(measured.measured_at.replace(tzinfo=dt.UTC)),
            "hours_since": (
                round(measured.hours_since, 2) if measured.hours_since is not None else None
            ),
            "warn_after_hours": table.warn_after_hours,
            "error_after_hours": table.error_after_hours,
            "row_count": measured.row_count,
        },
    )


def build_source_freshness_check(source: SourceContract) -> dg.AssetChecksDefinition:
    """One check step per source, so DuckDB is opened once for all its tables."""
    specs = [
        dg.AssetCheckSpec(
            name=CHECK_NAME,
            asset=dg.AssetKey([source.name, table.table]),
            description=(
                f"Newest `{table.loaded_at_field}` of `{table.qualified_name}`, measured at "
                f"the end of the as-of day: {_window_text(table)} (dbt sources YAML). "
                "Fails without blocking; an empty table is an error."
            ),
            blocking=False,
        )
        for table in source.tables
    ]
    tables = {dg.AssetKey([source.name, t.table]): t for t in source.tables}

    @dg.multi_asset_check(
        name=f"{source.name}_source_freshness",
        specs=specs,
        can_subset=True,
        description=f"Freshness of every raw {source.name} table at the end of the as-of day.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        measured_at = as_of_end(warehouse.as_of_date)
        selected = [
            tables[key.asset_key]
            for key in context.selected_asset_check_keys
            if key.asset_key in tables
        ]
        with warehouse.connect() as con:
            results = [(t, measure_table(con, t, measured_at)) for t in selected]
        for table, measured in results:
            if measured.status in (WARN, ERROR, NO_DATA):
                context.log.warning(
                    f"{table.qualified_name}: {measured.status}, newest "
                    f"{table.loaded_at_field} {measured.last_loaded_at}, measured at "
                    f"{measured_at} ({_window_text(table)})"
                )
            yield check_result(table, measured)

    return _check


def build_source_freshness_checks() -> list[dg.AssetChecksDefinition]:
    """A freshness check on every raw table of every landing source."""
    return [build_source_freshness_check(s) for s in load_contracts().values()]
