"""Daily partitions of the product events: one day's load touches one day's files.

The ``segment/tracks`` asset is materialized in process against a small
generated landing folder: a partition loads its ``event_date=<day>`` folder
and nothing else, a re-run of the day adds nothing, a range of days loads in
one step, and a run without a partition (the whole-warehouse job) loads the rest.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.defs.raw import (
    build_partitioned_table_asset,
    build_raw_assets,
    daily_partitions,
)
from orchestration.defs.schedules import daily_partition_key, landing_snapshot
from orchestration.demo_data.generator import GeneratorConfig, generate
from orchestration.ingest.contracts import load_contracts
from orchestration.resources import WarehouseResource

AS_OF = dt.date(2026, 6, 30)
TRACKS = dg.AssetKey(["segment", "tracks"])
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("partitions") / "landing"
    generate(GeneratorConfig(seed=5, accounts=25, months=2, as_of_date=AS_OF), folder)
    return folder


@pytest.fixture()
def warehouse(tmp_path: Path, landing: Path) -> WarehouseResource:
    return WarehouseResource(
        duckdb_path=str(tmp_path / "warehouse.duckdb"),
        landing_dir=str(landing),
        as_of_date=AS_OF.isoformat(),
    )


def _tracks_asset(warehouse: WarehouseResource) -> dg.AssetsDefinition:
    [asset] = [a for a in build_raw_assets(warehouse) if TRACKS in a.keys]
    return asset


def _materialize(warehouse: WarehouseResource, **kwargs) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [_tracks_asset(warehouse)], resources={"warehouse": warehouse},
            instance=instance, **kwargs,
        )


def _query(warehouse: WarehouseResource, sql: str) -> list[tuple]:
    with duckdb.connect(warehouse.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _day_rows(landing: Path, day: str) -> int:
    folder = landing / "segment" / "tracks" / f"event_date={day}"
    return sum(pq.read_metadata(p).num_rows for p in folder.glob("*.parquet"))


def test_partitions_run_from_the_first_landing_day_through_the_as_of_day(landing, warehouse):
    partitions = _tracks_asset(warehouse).partitions_def
    keys = partitions.get_partition_keys()
    first_file_day = min(p.name for p in (landing / "segment" / "tracks").iterdir())
    # 24 months of default history reach back further than this 2-month landing.
    assert keys[0] == "2024-06-01" and first_file_day > "event_date=2024-06-01"
    assert keys[-1] == AS_OF.isoformat()
    # A landing folder older than the default history moves the start back.
    older = landing.parent / "older"
    (older / "segment" / "tracks" / "event_date=2023-02-03").mkdir(parents=True)
    contract = load_contracts()["segment"]
    moved = daily_partitions(older, contract.name, "tracks", AS_OF)
    assert moved.get_partition_keys()[0] == "2023-02-03"
    assert build_partitioned_table_asset(
        contract, contract.table("tracks"), moved
    ).backfill_policy == dg.BackfillPolicy.single_run()


def test_one_day_loads_only_that_days_files_and_a_rerun_adds_nothing(landing, warehouse):
    day = "2026-06-15"
    expected = _day_rows(landing, day)
    assert expected > 0

    first = _materialize(warehouse, partition_key=day)
    second = _materialize(warehouse, partition_key=day)

    files = _query(warehouse, "select distinct file_path, status from loader.load_audit")
    assert files == [(f"segment/tracks/event_date={day}/part-0000.parquet", "loaded")]
    [(loaded, quarantined)] = _query(
        warehouse,
        "select (select count(*) from segment.tracks), (select count(*) from loader.quarantine)",
    )
    assert loaded + quarantined == expected
    # Every row came from the day's folder: received that day, whenever it happened.
    assert _query(
        warehouse,
        "select count(*) from segment.tracks where _loaded_file not like "
        f"'%event_date={day}/%' or strftime(received_at, '%Y-%m-%d') <> '{day}'",
    ) == [(0,)]
    metadata = [e.materialization.metadata for e in second.get_asset_materialization_events()]
    assert [e.partition for e in first.get_asset_materialization_events()] == [day]
    assert metadata[0]["rows_loaded"].value == 0
    assert metadata[0]["dagster/row_count"].value == loaded
    assert _query(warehouse, "select count(*), count(distinct _loaded_line) "
                             "from segment.tracks") == [(loaded, loaded)]


def test_a_range_loads_in_one_step_and_an_unpartitioned_run_loads_the_rest(landing, warehouse):
    days = ["2026-06-10", "2026-06-11", "2026-06-12"]
    ranged = _materialize(warehouse, tags={RANGE_START: days[0], RANGE_END: days[-1]})

    steps = {e.step_key for e in ranged.all_events if e.step_key}
    assert len(steps) == 1
    assert sorted(e.partition for e in ranged.get_asset_materialization_events()) == days
    [(files,)] = _query(warehouse, "select count(distinct file_path) from loader.load_audit")
    assert files == len(days)

    everything = _materialize(warehouse)

    on_disk = len(list((landing / "segment" / "tracks").glob("event_date=*/*.parquet")))
    [(files, rows)] = _query(
        warehouse,
        "select count(distinct file_path), sum(rows_loaded + rows_quarantined) "
        "from loader.load_audit where status = 'loaded'",
    )
    assert files == on_disk
    assert rows == sum(
        pq.read_metadata(p).num_rows
        for p in (landing / "segment" / "tracks").glob("event_date=*/*.parquet")
    )
    [event] = everything.get_asset_materialization_events()
    assert event.partition is None
    assert event.materialization.metadata["files_loaded"].value == on_disk - len(days)


def test_the_daily_schedule_loads_the_day_before_the_as_of_date(warehouse):
    from orchestration.definitions import build_definitions

    defs = build_definitions(warehouse)
    schedule = defs.resolve_schedule_def("daily_warehouse_build")
    with dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC),
        resources=defs.resources,
        repository_def=defs.get_repository_def(),
    ) as context:
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == daily_partition_key(warehouse.as_of_date) == "2026-06-29"
    job = defs.resolve_job_def("build_warehouse")
    assert request.partition_key in job.partitions_def.get_partition_keys()


def test_the_landing_sensor_sees_each_days_file(landing):
    snapshot = landing_snapshot(landing)
    days = sorted(p for p in snapshot if p.startswith("segment/tracks/"))
    on_disk = sorted((landing / "segment" / "tracks").glob("event_date=*/*.parquet"))
    assert days == [p.relative_to(landing).as_posix() for p in on_disk]
    assert "hubspot/company/part-0000.csv" in snapshot
    assert not any(p.startswith(("_", ".")) for p in snapshot)
