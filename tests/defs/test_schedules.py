"""The daily schedule and the landing-file sensor, evaluated with Dagster's helpers."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.resources import WarehouseResource


@pytest.fixture()
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    (folder / "segment" / "tracks").mkdir(parents=True)
    return folder


@pytest.fixture()
def defs(tmp_path: Path, landing: Path) -> dg.Definitions:
    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "warehouse.duckdb"),
        landing_dir=str(landing),
        as_of_date="2026-06-30",
    )
    return build_definitions(warehouse)


def _evaluate(defs: dg.Definitions, cursor: str | None):
    sensor = defs.resolve_sensor_def("new_landing_files")
    with dg.build_sensor_context(cursor=cursor, resources=defs.resources) as context:
        result = sensor.evaluate_tick(context)
        return result, context.cursor


def _daily_tick(defs: dg.Definitions, day: dt.date) -> dg.RunRequest:
    """The run request of the daily schedule's 06:00 UTC tick on `day`."""
    schedule = defs.resolve_schedule_def("daily_warehouse_build")
    with dg.build_schedule_context(
        scheduled_execution_time=dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC),
        resources=defs.resources,
        # A partitioned run request is resolved against the job's partitions.
        repository_def=defs.get_repository_def(),
    ) as context:
        [request] = schedule.evaluate_tick(context).run_requests
    return request


def test_daily_schedule_runs_the_whole_build_at_six_utc(defs):
    schedule = defs.resolve_schedule_def("daily_warehouse_build")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "build_warehouse"
    request = _daily_tick(defs, dt.date(2026, 12, 4))
    assert request.job_name in (None, "build_warehouse")
    # The as-of date dbt will build for, from the run's resources, not the tick.
    assert request.tags["cs/trigger"] == "schedule"
    assert request.tags["cs/as_of_date"] == "2026-06-30"
    # The day's product events: the last full day before the as-of date.
    assert request.partition_key == "2026-06-29"
    # A Friday: account-day models rebuild only what new data touches.
    assert "cs/account_days" not in request.tags
    assert not request.run_config


def test_the_sunday_run_recomputes_every_account_day(defs):
    request = _daily_tick(defs, dt.date(2026, 12, 6))
    assert request.tags["cs/account_days"] == "all"
    options = request.run_config["ops"]["cs_warehouse_dbt"]["config"]
    assert options == {"rebuild_account_days_from": "1900-01-01"}
    # The options are valid config of the job's dbt step.
    dg.validate_run_config(defs.resolve_job_def("build_warehouse"), request.run_config)


def test_dbt_build_options_become_a_dbt_var():
    from orchestration.defs.dbt import DbtBuildConfig

    assert DbtBuildConfig().dbt_args() == ["build"]
    assert DbtBuildConfig(rebuild_account_days_from="2026-05-01").dbt_args() == [
        "build", "--vars", '{"rebuild_account_days_from": "2026-05-01"}',
    ]
    with pytest.raises(dg.Failure, match="rebuild_account_days_from: '2026-13-01'"):
        DbtBuildConfig(rebuild_account_days_from="2026-13-01").dbt_args()


def test_sensor_starts_one_run_per_new_delivery(defs, landing):
    result, cursor = _evaluate(defs, None)
    assert result.run_requests == [] and result.skip_message

    (landing / "segment" / "tracks" / "2026-06.csv").write_text("id\n1\n")
    (landing / "segment" / "tracks" / "2026-05.csv").write_text("id\n0\n")
    result, cursor = _evaluate(defs, cursor)
    [request] = result.run_requests
    assert "segment/tracks/2026-06.csv" in json.loads(cursor)
    assert request.tags["cs/trigger"] == "sensor"
    assert request.tags["cs/as_of_date"] == "2026-06-30"
    assert request.tags["cs/changed_files"] == "2"

    # Nothing new: no run.
    result, cursor_after = _evaluate(defs, cursor)
    assert result.run_requests == []
    assert cursor_after == cursor

    # A re-export of the same file (new content and time) is a new delivery.
    path = landing / "segment" / "tracks" / "2026-06.csv"
    path.write_text("id\n1\n2\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    result, _ = _evaluate(defs, cursor)
    [second] = result.run_requests
    assert second.run_key != request.run_key
    # Only the re-exported file changed.
    assert second.tags["cs/changed_files"] == "1"


def test_sensor_ignores_files_the_loader_ignores(defs, landing):
    (landing / "segment" / "tracks" / "_generation.json").write_text("{}")
    (landing / "segment" / "tracks" / "notes.txt").write_text("not data")
    result, _ = _evaluate(defs, None)
    assert result.run_requests == []
