"""When the warehouse builds: a daily schedule and a sensor on new landing files.

The daily run loads one day of product events: the ``segment/tracks`` partition
of the day before the as-of date (the last full day Segment delivered, late
events included), with every other source and the whole dbt build. A sensor
run has no partition: it loads every new or changed file, whatever its day.
On Sundays the scheduled run also recomputes every account-day (run config
``rebuild_account_days_from``), so changes that rewrite history without a
day of their own reach every day within a week (docs/decisions.md, entry 18).

Every run either starts carries tags saying why it started (``cs/trigger``:
``schedule`` or ``sensor``) and which day it describes (``cs/as_of_date``);
a sensor run also says how many landing files were new or changed
(``cs/changed_files``), so the runs list in the Dagster UI can be filtered
by what started them.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from orchestration.ingest.loader import LANDING_SUFFIXES
from orchestration.resources import WarehouseResource

# Connectors typically deliver overnight; 06:00 UTC leaves time for late
# syncs and has the CRM updated before a European or American CS morning.
DAILY_CRON = "0 6 * * *"

TRIGGER_TAG = "cs/trigger"
AS_OF_DATE_TAG = "cs/as_of_date"
CHANGED_FILES_TAG = "cs/changed_files"
ACCOUNT_DAYS_TAG = "cs/account_days"

# A user moved to another account by a new group call, an identity remap or
# an edited seed changes account-days older than a daily run's horizon; the
# Sunday run recomputes them all (the account-day models only, not the event
# models, which stay exact by day). Sunday is the quietest day to be slower.
FULL_ACCOUNT_DAYS_WEEKDAY = 6
ALL_ACCOUNT_DAYS_FROM = "1900-01-01"


def run_tags(trigger: str, as_of_date: str, changed_files: int | None = None) -> dict[str, str]:
    """The tags of a run started by `trigger` (``schedule`` or ``sensor``)."""
    tags = {TRIGGER_TAG: trigger, AS_OF_DATE_TAG: as_of_date}
    if changed_files is not None:
        tags[CHANGED_FILES_TAG] = str(changed_files)
    return tags


def landing_snapshot(landing_dir: Path) -> dict[str, list[int]]:
    """Every landing file with its size and modification time (ns).

    Files sit in ``<source>/<table>/`` or in a Hive-style partition folder
    below it (``segment/tracks/event_date=2026-06-29/``), as the loader reads them.
    """
    snapshot: dict[str, list[int]] = {}
    if not landing_dir.is_dir():
        return snapshot
    paths = [*landing_dir.glob("*/*/*"), *landing_dir.glob("*/*/*=*/*")]
    for path in sorted(paths):
        if path.is_file() and path.name.endswith(LANDING_SUFFIXES):
            if path.name.startswith(("_", ".")):
                continue
            stat = path.stat()
            snapshot[path.relative_to(landing_dir).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return snapshot


def daily_partition_key(as_of_date: str) -> str:
    """The day a daily run loads: the last full day before the as-of date."""
    return (dt.date.fromisoformat(as_of_date) - dt.timedelta(days=1)).isoformat()


def changed_files(previous: dict[str, list[int]], current: dict[str, list[int]]) -> list[str]:
    """Files that are new or whose size or modification time moved."""
    return sorted(name for name, state in current.items() if previous.get(name) != state)


def build_schedules_and_sensors(job) -> tuple[list, list]:
    """The schedule and sensor that start `job` (the build_warehouse asset job)."""

    @dg.schedule(
        name="daily_warehouse_build",
        job=job,
        cron_schedule=DAILY_CRON,
        execution_timezone="UTC",
        description=(
            "Load yesterday's product events and every other source, build, check and "
            "sync every day at 06:00 UTC; on Sundays recompute every account-day."
        ),
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_warehouse_build(
        context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource
    ) -> dg.RunRequest:
        # The tag carries the as-of date the run's resources hold, the one dbt
        # will build for, rather than the tick's date, so it never disagrees
        # with the data.
        tags = run_tags("schedule", warehouse.as_of_date)
        run_config = {}
        if context.scheduled_execution_time.weekday() == FULL_ACCOUNT_DAYS_WEEKDAY:
            tags[ACCOUNT_DAYS_TAG] = "all"
            run_config = {
                "ops": {
                    "cs_warehouse_dbt": {
                        "config": {"rebuild_account_days_from": ALL_ACCOUNT_DAYS_FROM}
                    }
                }
            }
        return dg.RunRequest(
            partition_key=daily_partition_key(warehouse.as_of_date),
            tags=tags,
            run_config=run_config,
        )

    @dg.sensor(
        name="new_landing_files",
        job=job,
        minimum_interval_seconds=60,
        description=(
            "Starts a build when files land in the landing folder or change; the "
            "loader then loads only those files (it skips unchanged ones)."
        ),
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def new_landing_files(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        previous = json.loads(context.cursor) if context.cursor else {}
        current = landing_snapshot(Path(warehouse.landing_dir))
        changed = changed_files(previous, current)
        if not changed:
            return dg.SkipReason(f"No new or changed files in {warehouse.landing_dir}")
        context.update_cursor(json.dumps(current, sort_keys=True))
        # The same set of changes always gives the same run key, so a sensor
        # evaluated twice before its cursor is saved does not start two runs.
        digest = hashlib.sha256(
            json.dumps({name: current[name] for name in changed}, sort_keys=True).encode()
        ).hexdigest()[:16]
        context.log.info(f"{len(changed)} new or changed landing files, e.g. {changed[:3]}")
        return dg.RunRequest(
            run_key=f"landing-{digest}",
            tags=run_tags("sensor", warehouse.as_of_date, changed_files=len(changed)),
        )

    return [daily_warehouse_build], [new_landing_files]
