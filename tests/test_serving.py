"""The serving copy: what a publish writes, what readers see, and what a failure leaves.

Publishes run on private copies of the session's built warehouse
(tests/conftest.py); the readers that must not block the pipeline run in
separate processes, as a BI tool would, since DuckDB's file lock is per process.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

import orchestration.serving as serving_module
from orchestration.defs.expectations import build_gx_checks
from orchestration.defs.serving import SERVING_ASSET, ServingResource, build_serving_asset
from orchestration.resources import WarehouseResource
from orchestration.serving import (
    PUBLISHED_SCHEMAS,
    PUBLISHED_TABLES,
    SERVING_STORAGE_VERSION,
    ServingPublishError,
    publish_serving_copy,
    serving_tables,
)
from orchestration.settings import load_settings

# The session warehouse's as-of date (tests/conftest.py).
AS_OF = dt.date(2026, 6, 30)
HEALTH = dg.AssetKey(["marts", "fct_account_health_daily"])
# A reader in its own process: prints the number of accounts it sees, waits for
# a line on stdin, then prints what the same connection sees after.
HOLDING_READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "select count(*) from marts.dim_accounts"
    print(con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()
    print(con.execute(query).fetchone()[0], flush=True)
    """
)


def _fresh_count(path: Path, sql: str) -> int:
    """A query from a new process, as a BI tool opening the copy after a publish would."""
    script = (
        "import sys, duckdb; "
        "print(duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2]).fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), sql],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return int(done.stdout.strip())


@pytest.fixture
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    return copy


@pytest.fixture
def warehouse_con(warehouse_copy) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(warehouse_copy))
    try:
        yield con
    finally:
        con.close()


def _beside(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def test_a_publish_copies_every_published_table_exactly(warehouse_con, tmp_path):
    serving = tmp_path / "warehouse_serving.duckdb"
    publication = publish_serving_copy(warehouse_con, serving, AS_OF, "run-1")

    tables = serving_tables(warehouse_con)
    published = {name.split(".")[0] for name in publication.row_counts}
    # The session's build pushed to the CRM, so its state is there too.
    assert {"marts", "sync", "crm_sync", "loader"} <= published
    assert {"marts.data_dictionary", "marts.fct_source_health", "loader.load_audit",
            "loader.quarantine", "crm_sync.sync_runs",
            "reference.health_component_thresholds"} <= set(publication.row_counts)
    assert [f"{s}.{t}" for s, t in tables] == list(publication.row_counts)
    assert not _beside(serving) - {"warehouse.duckdb", "warehouse_serving.duckdb"}

    warehouse_con.execute(f"attach '{serving}' as copy (read_only)")
    try:
        (warehouse_db,) = warehouse_con.execute("select current_database()").fetchone()
        for schema, table in tables:
            ours = f'{warehouse_db}."{schema}"."{table}"'
            theirs = f'copy."{schema}"."{table}"'
            for left, right in ((ours, theirs), (theirs, ours)):
                (extra,) = warehouse_con.execute(
                    f"select count(*) from (from {left} except all from {right})"
                ).fetchone()
                assert extra == 0, (left, right)
            (count,) = warehouse_con.execute(f"select count(*) from {theirs}").fetchone()
            assert count == publication.row_counts[f"{schema}.{table}"]
        listed = dict(
            ((s, t), n) for s, t, n in warehouse_con.execute(
                "select table_schema, table_name, row_count from copy.serving.published_tables"
            ).fetchall()
        )
        assert listed == {
            tuple(name.split(".")): n for name, n in publication.row_counts.items()
        }
        row = warehouse_con.execute("select * from copy.serving.publication").fetchall()
        assert row == [(publication.published_at, AS_OF, "run-1")]
        # Nothing outside the published schemas (staging, raw sources) leaks out.
        schemas = {s for (s,) in warehouse_con.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_catalog = 'copy'"
        ).fetchall()}
        assert schemas == {*PUBLISHED_SCHEMAS, *(s for s, _ in PUBLISHED_TABLES), "serving"}
        # Written in the older format BI tools' bundled drivers can read.
        (tags,) = warehouse_con.execute(
            "select tags from duckdb_databases() where database_name = 'copy'"
        ).fetchone()
        assert tags["storage_version"] == f"{SERVING_STORAGE_VERSION}+"
    finally:
        warehouse_con.execute("detach copy")


def test_a_reader_holding_the_copy_neither_blocks_nor_sees_a_publish(warehouse_con, tmp_path):
    serving = tmp_path / "warehouse_serving.duckdb"
    publish_serving_copy(warehouse_con, serving, AS_OF)
    (accounts,) = warehouse_con.execute("select count(*) from marts.dim_accounts").fetchone()

    reader = subprocess.Popen(
        [sys.executable, "-c", HOLDING_READER, str(serving)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert int(reader.stdout.readline()) == accounts
        # The reader now holds the copy open (and DuckDB's lock on it) while the
        # pipeline changes a mart and publishes again.
        warehouse_con.execute(
            "delete from marts.dim_accounts "
            "where account_id in (select account_id from marts.dim_accounts limit 3)"
        )
        publish_serving_copy(warehouse_con, serving, AS_OF)
        assert _fresh_count(serving, "select count(*) from marts.dim_accounts") == accounts - 3
        out, err = reader.communicate("\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    assert int(out) == accounts, "the open connection must keep reading the copy it opened"


def test_a_publish_failing_midway_leaves_the_previous_copy_untouched(
    warehouse_con, tmp_path, monkeypatch
):
    serving = tmp_path / "warehouse_serving.duckdb"
    publish_serving_copy(warehouse_con, serving, AS_OF)
    before = serving.read_bytes()
    real_copy = serving_module.copy_table
    copied: list[str] = []

    def copy_then_fail(con, catalog, schema, table):
        if len(copied) == 3:
            raise OSError("disk full")
        copied.append(table)
        return real_copy(con, catalog, schema, table)

    monkeypatch.setattr(serving_module, "copy_table", copy_then_fail)
    with pytest.raises(ServingPublishError, match="failed after 3 tables .*disk full"):
        publish_serving_copy(warehouse_con, serving, AS_OF)

    assert serving.read_bytes() == before
    assert _beside(serving) == {"warehouse.duckdb", "warehouse_serving.duckdb"}
    attached = warehouse_con.execute(
        "select database_name from duckdb_databases() where not internal"
    ).fetchall()
    assert attached == [("warehouse",)]
    # The pipeline's connection is still usable, and the next publish succeeds.
    monkeypatch.setattr(serving_module, "copy_table", real_copy)
    publish_serving_copy(warehouse_con, serving, AS_OF, "run-2")
    assert _fresh_count(serving, "select count(*) from serving.publication "
                                 "where dagster_run_id = 'run-2'") == 1


def test_a_publish_clears_what_a_killed_publish_left(warehouse_con, tmp_path):
    serving = tmp_path / "warehouse_serving.duckdb"
    leftovers = [tmp_path / ".warehouse_serving.duckdb.0badc0ffee00.tmp",
                 tmp_path / ".warehouse_serving.duckdb.0badc0ffee00.tmp.wal"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a file")
    publish_serving_copy(warehouse_con, serving, AS_OF)
    assert _beside(serving) == {"warehouse.duckdb", "warehouse_serving.duckdb"}


def test_the_serving_path_follows_the_warehouse(tmp_path):
    settings = load_settings({"CS_DUCKDB_PATH": str(tmp_path / "main.duckdb")})
    configured = ServingResource.for_warehouse(settings, tmp_path / "main.duckdb")
    assert configured.path == str(tmp_path / "main_serving.duckdb")
    elsewhere = ServingResource.for_warehouse(settings, tmp_path / "other" / "w.duckdb")
    assert elsewhere.path == str(tmp_path / "other" / "w_serving.duckdb")
    chosen = load_settings({
        "CS_DUCKDB_PATH": str(tmp_path / "main.duckdb"),
        "CS_SERVING_PATH": str(tmp_path / "bi" / "copy.duckdb"),
    })
    assert ServingResource.for_warehouse(chosen, tmp_path / "main.duckdb").path == str(
        tmp_path / "bi" / "copy.duckdb"
    )


def test_the_build_job_publishes_the_serving_copy(built_warehouse):
    result = built_warehouse.result
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == SERVING_ASSET]
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    serving = built_warehouse.duckdb_path.with_name("warehouse_serving.duckdb")
    assert metadata["path"] == str(serving)
    assert serving.is_file()
    assert not [p for p in serving.parent.iterdir() if p.name.startswith(".")]

    warehouse_tables = {
        f"{s}.{t}" for s, t in built_warehouse.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'sync', 'crm_sync')"
        )
    }
    with duckdb.connect(str(serving), read_only=True) as con:
        published = dict(con.execute(
            "select table_schema || '.' || table_name, row_count from serving.published_tables"
        ).fetchall())
        [(run_id, as_of)] = con.execute(
            "select dagster_run_id, as_of_date from serving.publication"
        ).fetchall()
    assert warehouse_tables | {f"{s}.{t}" for s, t in PUBLISHED_TABLES} == set(published)
    assert {"crm_sync.company_state", "crm_sync.task_state", "crm_sync.sync_runs"} <= set(
        published
    )
    assert metadata["row_counts"] == published
    assert (run_id, as_of) == (result.run_id, AS_OF)
    # The copy was published after the pushes, so it holds their run history.
    assert published["crm_sync.sync_runs"] > 0


def test_a_failed_blocking_check_on_a_mart_stops_the_publish(warehouse_copy, built_warehouse):
    serving = warehouse_copy.with_name("warehouse_serving.duckdb")
    with duckdb.connect(str(warehouse_copy)) as con:
        publish_serving_copy(con, serving, AS_OF)
        before = serving.read_bytes()
        con.execute(
            "update marts.fct_account_health_daily set health_score = 120 "
            "where date_day = (select max(date_day) from marts.fct_account_health_daily)"
        )
    asset = build_serving_asset([HEALTH, dg.AssetKey("crm_company_sync_push")])
    checks = build_gx_checks()
    referenced = {spec.asset_key for check in checks for spec in check.check_specs}
    referenced |= {d.asset_key for c in checks for s in c.check_specs for d in s.additional_deps}
    referenced |= set(asset.asset_deps[SERVING_ASSET])
    warehouse = WarehouseResource(
        duckdb_path=str(warehouse_copy),
        landing_dir=str(built_warehouse.landing_dir),
        as_of_date=AS_OF.isoformat(),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [asset, *checks, *(dg.AssetSpec(k) for k in sorted(referenced))],
            resources={"warehouse": warehouse, "serving": ServingResource(path=str(serving))},
            selection=dg.AssetSelection.assets(SERVING_ASSET)
            | dg.AssetSelection.checks_for_assets(HEALTH),
            instance=instance,
            raise_on_error=False,
        )
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert any(e.asset_key == HEALTH and e.severity == dg.AssetCheckSeverity.ERROR
               for e in failed)
    assert SERVING_ASSET not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert serving.read_bytes() == before


def test_make_run_says_where_the_copy_went(built_warehouse):
    from orchestration.run import summarise

    settings = load_settings({
        "CS_DUCKDB_PATH": str(built_warehouse.duckdb_path),
        "CS_LANDING_DIR": str(built_warehouse.landing_dir),
    })
    lines = summarise(settings, built_warehouse.result).splitlines()
    serving = built_warehouse.duckdb_path.with_name("warehouse_serving.duckdb")
    [line] = [line for line in lines if line.startswith("serving copy")]
    assert line.startswith(f"serving copy {serving}: ")
    # The serving asset is not counted among the dbt models.
    [built] = [line for line in lines if line.startswith("dbt models and seeds built")]
    dbt_keys = {
        e.asset_key for e in built_warehouse.result.get_asset_materialization_events()
        if "unique_id" in e.materialization.metadata
    }
    assert built == f"dbt models and seeds built: {len(dbt_keys)}"
