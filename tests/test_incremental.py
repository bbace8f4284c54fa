"""The day-incremental models (docs/decisions.md, entries 15 and 18).

A warehouse is built in full on the events received up to the day before the
last one; the last day's deliveries, a late event for an old day and a
retried (duplicate) delivery are then appended to raw `segment.tracks` and an
incremental `dbt build` runs. Every mart and sync table must equal a
`--full-refresh` build on the same data, the run must have rebuilt only the
event days those deliveries touch and the account-days from the earliest of
them on, and running the same day again must change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The as-of date of the built_warehouse fixture (tests/conftest.py).
AS_OF = dt.date(2026, 6, 30)
DBT = Path(sys.executable).with_name("dbt")
EVENTS_TABLE = "intermediate.int_product_user_events_daily"
# The default of var events_lookback_days (macros/incremental.sql).
LOOKBACK = dt.timedelta(days=3)
LATE_EVENT_AGE_DAYS = 40
DUPLICATE_AGE_DAYS = 20
# Account-day models with a dbt_invocation_id column (macros/incremental.sql).
ACCOUNT_DAY_TABLES = (
    "intermediate.int_account_usage_daily",
    "intermediate.int_account_daily_facts",
    "intermediate.int_account_health_components_all_versions",
    "intermediate.int_account_health_scores_all_versions",
    "intermediate.int_account_health_reasons",
)


def _dbt_build(duckdb_path: Path, work_dir: Path, *extra: str) -> None:
    env = {
        **os.environ,
        "CS_DUCKDB_PATH": str(duckdb_path),
        "CS_AS_OF_DATE": AS_OF.isoformat(),
    }
    # Own target and log folders: other runs of the project may be building.
    command = [
        str(DBT), "build", "--profiles-dir", str(PROJECT_DIR),
        "--project-dir", str(PROJECT_DIR),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        *extra,
    ]
    done = subprocess.run(command, env=env, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def _query(duckdb_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _day_invocations(
    duckdb_path: Path, table: str = EVENTS_TABLE, day_column: str = "event_date"
) -> dict[dt.date, str]:
    rows = _query(
        duckdb_path,
        f"select {day_column}, min(dbt_invocation_id), max(dbt_invocation_id) "
        f"from {table} group by {day_column}",
    )
    assert all(first == last for _, first, last in rows), f"a day of {table} was half rebuilt"
    return {day: invocation for day, invocation, _ in rows}


def _table_differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Rows only in left and only in right, per marts/sync table (EXCEPT ALL)."""
    differences = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        tables = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where database_name = 'l' and schema_name in ('marts', 'sync') order by 1"
        ).fetchall()
        assert len(tables) > 10
        for (table,) in tables:
            counts = tuple(
                con.execute(
                    f"select count(*) from (select * from {a}.{table} "
                    f"except all select * from {b}.{table})"
                ).fetchone()[0]
                for a, b in (("l", "r"), ("r", "l"))
            )
            if counts != (0, 0):
                differences[table] = counts
    return differences


@pytest.fixture(scope="module")
def incremental_run(built_warehouse, tmp_path_factory):
    work = tmp_path_factory.mktemp("incremental")
    warehouse = work / "incremental.duckdb"
    shutil.copy(built_warehouse.duckdb_path, warehouse)

    # Day D is the last day deliveries arrived; hold its deliveries back.
    with duckdb.connect(str(warehouse)) as con:
        [(last_day,)] = con.execute(
            "select max(cast(received_at as date)) from segment.tracks"
        ).fetchall()
        con.execute(
            "create table main.held_back as select * from segment.tracks "
            "where received_at >= cast(? as timestamp)",
            [last_day],
        )
        con.execute(
            "delete from segment.tracks where received_at >= cast(? as timestamp)", [last_day]
        )
    _dbt_build(warehouse, work, "--full-refresh")
    before = _day_invocations(warehouse)
    account_days_before = {
        table: _day_invocations(warehouse, table, "date_day") for table in ACCOUNT_DAY_TABLES
    }
    [(watermark,)] = _query(warehouse, f"select max(last_received_at) from {EVENTS_TABLE}")

    # Day D arrives, with a late event for an old day and a retried delivery.
    late_day = last_day - dt.timedelta(days=LATE_EVENT_AGE_DAYS)
    duplicate_day = last_day - dt.timedelta(days=DUPLICATE_AGE_DAYS)
    arrival = dt.datetime.combine(last_day, dt.time(12))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into segment.tracks select * from main.held_back")
        # The late event copies an attributed user's event of that day, so it
        # moves that account's usage and everything built on it.
        con.execute(
            f"""
            insert into segment.tracks
            select
                'late-' || tracks.id, anonymous_id, tracks.user_id, event, event_text,
                timestamp, cast(? as timestamp), cast(? as timestamp),
                'test_incremental', 1, cast(? as timestamp)
            from segment.tracks as tracks
            inner join {EVENTS_TABLE} as events
                on tracks.user_id = events.user_id
                and cast(tracks.timestamp as date) = events.event_date
            inner join intermediate.int_account_user_events_daily as attributed
                on tracks.user_id = attributed.user_id
                and cast(tracks.timestamp as date) = attributed.event_date
            where cast(tracks.timestamp as date) = cast(? as date)
            order by tracks.id
            limit 1
            """,
            [arrival, arrival, arrival, late_day],
        )
        con.execute(
            """
            insert into segment.tracks
            select
                id, anonymous_id, user_id, event, event_text, timestamp,
                sent_at, cast(? as timestamp),
                'test_incremental', 2, cast(? as timestamp)
            from segment.tracks
            where cast(timestamp as date) = cast(? as date)
            order by id
            limit 1
            """,
            [arrival, arrival, duplicate_day],
        )
        expected_days = {
            day
            for (day,) in con.execute(
                "select distinct cast(timestamp as date) from segment.tracks "
                "where received_at > cast(? as timestamp)",
                [watermark - LOOKBACK],
            ).fetchall()
        }
        [(late_day_events_before,)] = con.execute(
            f"select sum(event_count) from {EVENTS_TABLE} where event_date = ?", [late_day]
        ).fetchall()

    _dbt_build(warehouse, work)
    after = _day_invocations(warehouse)
    account_days_after = {
        table: _day_invocations(warehouse, table, "date_day") for table in ACCOUNT_DAY_TABLES
    }

    rebuilt = work / "full_refresh.duckdb"
    shutil.copy(warehouse, rebuilt)
    _dbt_build(rebuilt, work, "--full-refresh")
    return {
        "warehouse": warehouse,
        "rebuilt": rebuilt,
        "work": work,
        "before": before,
        "after": after,
        "account_days_before": account_days_before,
        "account_days_after": account_days_after,
        "expected_days": expected_days,
        "late_day": late_day,
        "duplicate_day": duplicate_day,
        "late_day_events_before": late_day_events_before,
    }


def test_incremental_run_gives_the_marts_of_a_full_refresh(incremental_run):
    assert _table_differences(incremental_run["warehouse"], incremental_run["rebuilt"]) == {}


def test_incremental_run_rebuilds_only_the_days_new_deliveries_touch(incremental_run):
    before, after = incremental_run["before"], incremental_run["after"]
    touched = {day for day, invocation in after.items() if invocation != before.get(day)}
    assert touched == incremental_run["expected_days"]
    assert {incremental_run["late_day"], incremental_run["duplicate_day"]} <= touched
    # The lookback window plus the late events' days: under 5% of a year.
    assert len(touched) * 20 < len(after)


def test_account_day_models_rebuild_from_the_earliest_touched_day_only(incremental_run):
    late_day = incremental_run["late_day"]
    for table in ACCOUNT_DAY_TABLES:
        before = incremental_run["account_days_before"][table]
        after = incremental_run["account_days_after"][table]
        touched = {day for day, invocation in after.items() if invocation != before.get(day)}
        # The late event is the oldest day delivered, and the 7-day lookback
        # reaches less far back than it.
        assert touched == {day for day in after if day >= late_day}, table
        assert len(touched) * 4 < len(after), table


def test_late_event_counts_once_and_the_duplicate_not_at_all(incremental_run):
    warehouse = incremental_run["warehouse"]
    [(late_day_events,)] = _query(
        warehouse,
        f"select sum(event_count) from {EVENTS_TABLE} "
        f"where event_date = '{incremental_run['late_day']}'",
    )
    assert late_day_events == incremental_run["late_day_events_before"] + 1
    [(counted, distinct_raw)] = _query(
        warehouse,
        f"select (select sum(event_count) from {EVENTS_TABLE}), "
        "(select count(distinct id) from segment.tracks)",
    )
    assert counted == distinct_raw


def test_running_the_same_day_again_changes_nothing(incremental_run):
    warehouse, work = incremental_run["warehouse"], incremental_run["work"]
    [(rows_before,)] = _query(warehouse, f"select count(*) from {EVENTS_TABLE}")
    _dbt_build(warehouse, work)
    [(rows_after, distinct_keys)] = _query(
        warehouse,
        f"select count(*), count(distinct (user_id, event_date, event_name)) from {EVENTS_TABLE}",
    )
    assert rows_after == rows_before == distinct_keys
    assert _table_differences(warehouse, incremental_run["rebuilt"]) == {}


def test_rebuild_account_days_from_recomputes_every_day_from_it(incremental_run):
    # What the Sunday scheduled run passes (orchestration/defs/schedules.py),
    # here from a day 100 days back: every account-day from it is rewritten,
    # none before it, and the marts still equal a full refresh.
    warehouse, work = incremental_run["warehouse"], incremental_run["work"]
    start = AS_OF - dt.timedelta(days=100)
    table = "intermediate.int_account_daily_facts"
    before = _day_invocations(warehouse, table, "date_day")
    _dbt_build(warehouse, work, "--vars", json.dumps({"rebuild_account_days_from": str(start)}))
    after = _day_invocations(warehouse, table, "date_day")
    touched = {day for day, invocation in after.items() if invocation != before.get(day)}
    assert touched == {day for day in after if day >= start}
    assert _table_differences(warehouse, incremental_run["rebuilt"]) == {}
