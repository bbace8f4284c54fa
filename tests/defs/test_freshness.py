"""Source freshness: the Dagster checks and fct_source_health flag the same tables."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.defs.freshness import (
    CHECK_NAME,
    as_of_end,
    build_source_freshness_checks,
    freshness_status,
)
from orchestration.defs.raw import build_raw_assets
from orchestration.ingest.contracts import load_contracts
from orchestration.resources import WarehouseResource
from orchestration.settings import GENERATION_MANIFEST, PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"
RAW_TABLES = {
    (source.name, table.table): table
    for source in load_contracts().values()
    for table in source.tables
}


def _as_of(built_warehouse) -> str:
    manifest = built_warehouse.landing_dir / GENERATION_MANIFEST
    return json.loads(manifest.read_text())["as_of_date"]


@pytest.fixture()
def warehouse_copy(built_warehouse, tmp_path: Path) -> WarehouseResource:
    """The session's warehouse, copied so a test can make its sources stale."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.duckdb_path, path)
    return WarehouseResource(
        duckdb_path=str(path),
        landing_dir=str(built_warehouse.landing_dir),
        as_of_date=_as_of(built_warehouse),
    )


def _run_checks(warehouse: WarehouseResource):
    """Run only the freshness checks; the raw tables are already in the file."""
    raw_specs = [dg.AssetSpec(dg.AssetKey(list(key))) for key in RAW_TABLES]
    result = dg.materialize(
        [*raw_specs, *build_source_freshness_checks()],
        selection=dg.AssetSelection.all_asset_checks(),
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    evaluations = {
        tuple(e.asset_key.path): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == CHECK_NAME
    }
    return result, evaluations


def _status(evaluation) -> str:
    return evaluation.metadata["freshness_status"].value


def _build_mart(warehouse: WarehouseResource, work: Path) -> dict[tuple[str, str], dict]:
    env = {
        **os.environ,
        "CS_DUCKDB_PATH": warehouse.duckdb_path,
        "CS_AS_OF_DATE": warehouse.as_of_date,
    }
    built = subprocess.run(
        [
            str(DBT), "build", "--select", "fct_source_health",
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    return _mart_rows(Path(warehouse.duckdb_path))


def _mart_rows(path: Path) -> dict[tuple[str, str], dict]:
    """fct_source_health, one dict of columns per (source, table)."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute("select * from marts.fct_source_health")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return {(r["source_name"], r["table_name"]): r for r in rows}


def _push_back(con, source: str, table: str, hours: float, measured_at: dt.datetime) -> None:
    """Shift a raw table's loaded_at values so its newest is `hours` old."""
    field = RAW_TABLES[(source, table)].loaded_at_field
    newest = measured_at - dt.timedelta(hours=hours)
    con.execute(
        f'update "{source}"."{table}" set {field} = {field} '
        f'- ((select max({field}) from "{source}"."{table}") - ?)',
        [newest],
    )


# Pure helpers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_since", "warn", "error", "expected"),
    [
        (None, 36.0, 72.0, "no_data"),
        (10.0, 36.0, 72.0, "fresh"),
        # On the window is not past it (dbt's rule: age > window).
        (36.0, 36.0, 72.0, "fresh"),
        (36.5, 36.0, 72.0, "warn"),
        (72.5, 36.0, 72.0, "error"),
        (500.0, None, None, "no_window"),
        (40.0, 36.0, None, "warn"),
        (80.0, None, 72.0, "error"),
    ],
)
def test_status_follows_the_windows(hours_since, warn, error, expected):
    assert freshness_status(hours_since, warn, error) == expected


def test_age_is_measured_at_the_end_of_the_as_of_day():
    assert as_of_end("2026-06-30") == dt.datetime(2026, 7, 1)
    assert as_of_end(dt.date(2026, 12, 31)) == dt.datetime(2027, 1, 1)


# Contracts ------------------------------------------------------------------


def test_contracts_carry_each_tables_resolved_freshness():
    # Source default, table override, table switched off, expression in days.
    expected = {
        ("hubspot", "owner"): ("_fivetran_synced", 36.0, 72.0),
        ("hubspot", "engagement"): ("_fivetran_synced", 96.0, 168.0),
        ("hubspot", "contact"): ("_fivetran_synced", None, None),
        ("segment", "tracks"): ("received_at", 36.0, 72.0),
        ("finance", "sales_marketing_expense"): (
            "cast(expense_month as timestamp)", 75 * 24.0, 105 * 24.0,
        ),
    }
    actual = {
        key: (t.loaded_at_field, t.warn_after_hours, t.error_after_hours)
        for key, t in RAW_TABLES.items()
        if key in expected
    }
    assert actual == expected


def _write_sources(project: Path, document: dict) -> None:
    path = project / "models" / "staging" / "demo" / "_demo__sources.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(document))


def test_table_windows_merge_over_the_source_like_dbt(tmp_path):
    column = {"name": "id", "data_type": "varchar"}
    _write_sources(tmp_path, {"version": 2, "sources": [{
        "name": "demo",
        "loaded_at_field": "synced_at",
        "freshness": {
            "warn_after": {"count": 12, "period": "hour"},
            "error_after": {"count": 2, "period": "day"},
        },
        "tables": [
            {"name": "inherits", "columns": [column]},
            # Only warn_after set: error_after stays the source's.
            {"name": "warn_only", "columns": [column],
             "freshness": {"warn_after": {"count": 90, "period": "minute"}}},
            {"name": "switched_off", "columns": [column], "freshness": None},
            # The config form, and its own loaded_at_field.
            {"name": "configured", "columns": [column],
             "config": {"loaded_at_field": "received_at",
                        "freshness": {"error_after": None}}},
        ],
    }]})

    tables = {t.table: t for t in load_contracts(tmp_path)["demo"].tables}

    windows = {
        name: (t.loaded_at_field, t.warn_after_hours, t.error_after_hours)
        for name, t in tables.items()
    }
    assert windows == {
        "inherits": ("synced_at", 12.0, 48.0),
        "warn_only": ("synced_at", 1.5, 48.0),
        "switched_off": ("synced_at", None, None),
        "configured": ("received_at", 12.0, None),
    }


def test_the_loader_audit_source_is_not_a_landing_source(tmp_path):
    loader_yaml = PROJECT_DIR / "models" / "marts" / "governance" / "_loader__sources.yml"
    [loader] = yaml.safe_load(loader_yaml.read_text())["sources"]
    assert loader["name"] == "loader"
    assert loader["config"]["meta"]["landing"] is False
    assert "loader" not in load_contracts()
    raw_keys = {key for assets in build_raw_assets() for key in assets.keys}
    assert not [key for key in raw_keys if key.path[0] == "loader"]

    # Even among the raw contracts, where the reader looks, it stays out, as
    # does a source flagged in the older top-level meta form.
    column = {"name": "id", "data_type": "varchar"}
    _write_sources(tmp_path, {"version": 2, "sources": [
        {"name": "landed", "tables": [{"name": "t", "columns": [column]}]},
        {"name": "bookkeeping_top_level_meta", "meta": {"landing": False},
         "tables": [{"name": "t", "columns": [column]}]},
    ]})
    beside = tmp_path / "models" / "staging" / "loader" / "_loader__sources.yml"
    beside.parent.mkdir(parents=True)
    shutil.copy(loader_yaml, beside)
    assert list(load_contracts(tmp_path)) == ["landed"]


# Checks and mart on a warehouse ---------------------------------------------


def test_every_check_fails_as_an_error_on_a_warehouse_without_data(tmp_path):
    warehouse = WarehouseResource(
        duckdb_path=str(tmp_path / "empty.duckdb"),
        landing_dir=str(tmp_path / "landing"),
        as_of_date="2026-06-30",
    )
    result, evaluations = _run_checks(warehouse)

    assert result.success, "a failed freshness check must not fail the run"
    assert set(evaluations) == set(RAW_TABLES)
    assert {
        (e.passed, e.severity, _status(e)) for e in evaluations.values()
    } == {(False, dg.AssetCheckSeverity.ERROR, "no_data")}


def test_checks_pass_on_a_fresh_warehouse_and_the_mart_agrees(built_warehouse, warehouse_copy):
    result, evaluations = _run_checks(warehouse_copy)

    assert result.success
    assert set(evaluations) == set(RAW_TABLES)
    failed = {key: e.description for key, e in evaluations.items() if not e.passed}
    assert failed == {}
    check_statuses = {key: _status(e) for key, e in evaluations.items()}
    assert set(check_statuses.values()) == {"fresh", "no_window"}

    # The session build made the mart from dbt's graph; the checks read the
    # YAML through the contracts: the two must describe the same windows.
    mart = _mart_rows(built_warehouse.duckdb_path)
    assert {key: row["freshness_status"] for key, row in mart.items()} == check_statuses
    assert {
        key: (row["loaded_at_field"], row["warn_after_hours"], row["error_after_hours"])
        for key, row in mart.items()
    } == {
        key: (t.loaded_at_field, t.warn_after_hours, t.error_after_hours)
        for key, t in RAW_TABLES.items()
    }


def test_mart_reports_the_loader_audit(built_warehouse):
    mart = _mart_rows(built_warehouse.duckdb_path)
    tracks_dir = built_warehouse.landing_dir / "segment" / "tracks"
    landed = list(tracks_dir.glob("event_date=*/*.parquet"))
    [(quarantined, last_loaded)] = built_warehouse.query(
        """
        select
            (select count(*) from loader.quarantine
             where source = 'segment' and table_name = 'tracks'),
            (select max(finished_at) from loader.load_audit
             where source = 'segment' and table_name = 'tracks' and status = 'loaded')
        """
    )
    tracks = mart[("segment", "tracks")]

    assert quarantined > 0, "the demo data should carry malformed events"
    assert (tracks["files_loaded"], tracks["files_failed"], tracks["rows_quarantined"]) == (
        len(landed), 0, quarantined,
    )
    assert tracks["last_file_loaded_at"] == last_loaded


def test_stale_tables_are_flagged_with_their_severity_and_the_mart_agrees(
    warehouse_copy, tmp_path
):
    measured_at = as_of_end(warehouse_copy.as_of_date)
    with duckdb.connect(warehouse_copy.duckdb_path) as con:
        # zendesk.ticket: warn after 36 h, error after 72 h; stripe.invoice the same.
        _push_back(con, "zendesk", "ticket", 42, measured_at)
        _push_back(con, "stripe", "invoice", 78, measured_at)
        con.execute("delete from stripe.coupon")
        # A file still failing, and one that failed before it loaded.
        con.execute(
            """
            insert into loader.load_audit values
                ('zendesk', 'ticket', 'zendesk/ticket/part-0001.csv', null, 'failed',
                 0, 0, timestamp '2026-06-30 06:00', timestamp '2026-06-30 06:00',
                 'missing required column(s) ''id''')
            """
        )
        con.execute(
            """
            insert into loader.load_audit
            select source, table_name, file_path, null, 'failed', 0, 0,
                   started_at - interval 1 day, finished_at - interval 1 day, 'unreadable'
            from loader.load_audit
            where source = 'stripe' and table_name = 'invoice' and status = 'loaded'
            """
        )

    result, evaluations = _run_checks(warehouse_copy)

    assert result.success, "a stale source must flag, not stop the build"
    flagged = {
        key: (e.severity, _status(e), e.metadata["hours_since"].value)
        for key, e in evaluations.items()
        if not e.passed
    }
    assert flagged == {
        ("zendesk", "ticket"): (dg.AssetCheckSeverity.WARN, "warn", 42.0),
        ("stripe", "invoice"): (dg.AssetCheckSeverity.ERROR, "error", 78.0),
        ("stripe", "coupon"): (dg.AssetCheckSeverity.ERROR, "no_data", None),
    }

    mart = _build_mart(warehouse_copy, tmp_path)
    assert {key: row["freshness_status"] for key, row in mart.items()} == {
        key: _status(e) for key, e in evaluations.items()
    }
    ticket, invoice = mart[("zendesk", "ticket")], mart[("stripe", "invoice")]
    assert (ticket["hours_since_last_load"], invoice["hours_since_last_load"]) == (42.0, 78.0)
    # The failing file counts as failed; the one that failed, then loaded, as loaded.
    assert (ticket["files_loaded"], ticket["files_failed"]) == (1, 1)
    assert (invoice["files_loaded"], invoice["files_failed"]) == (1, 0)
