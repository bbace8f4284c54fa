"""What the Dagster UI shows as the control room: retries, and the metadata of each asset.

The retry tests materialize one asset in process against temporary files; the
metadata tests read the session's warehouse build (tests/conftest.py) and hold
every number it shows against a count made in SQL on the warehouse itself.
"""

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.crm.engine import sync_companies
from orchestration.defs import raw
from orchestration.defs.crm import (
    COMPANY_SYNC_MODEL,
    CrmResource,
    build_crm_assets,
    build_push_asset,
)
from orchestration.defs.dbt import (
    HEALTH_MART,
    drain,
    health_distribution_markdown,
    last_described_day,
)
from orchestration.defs.raw import TRANSIENT_RETRY_POLICY, build_raw_assets, build_raw_source_asset
from orchestration.ingest.contracts import load_contracts
from orchestration.resources import WarehouseResource

EXPENSES = dg.AssetKey(["finance", "sales_marketing_expense"])
EXPENSE_ROWS = (
    "expense_month,department,amount,currency\n"
    "2026-05-01,sales,1000.00,usd\n"
    "2026-05-01,marketing,500.00,usd\n"
    "2026-06-01,sales,1200.00,usd\n"
)


def _warehouse(tmp_path: Path, landing: Path) -> WarehouseResource:
    return WarehouseResource(
        duckdb_path=str(tmp_path / "warehouse.duckdb"),
        landing_dir=str(landing),
        as_of_date="2026-06-30",
    )


def _expense_landing(tmp_path: Path, content: str) -> Path:
    landing = tmp_path / "landing"
    folder = landing / "finance" / "sales_marketing_expense"
    folder.mkdir(parents=True)
    (folder / "2026-06.csv").write_text(content)
    return landing


def _attempts(result: dg.ExecuteInProcessResult) -> int:
    """Times the (only) step started: 1 plus its retries."""
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    return 1 + len(restarts)


def _metadata(event) -> dict:
    return {key: value.value for key, value in event.materialization.metadata.items()}


def _materializations(result) -> dict[dg.AssetKey, dict]:
    return {e.asset_key: _metadata(e) for e in result.get_asset_materialization_events()}


def test_the_loads_and_pushes_retry_and_nothing_else_does():
    raw_assets = build_raw_assets()
    assert raw_assets
    for asset in [*raw_assets, *build_crm_assets()]:
        assert asset.op.retry_policy == TRANSIENT_RETRY_POLICY
    assert TRANSIENT_RETRY_POLICY.max_retries >= 1
    assert TRANSIENT_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert TRANSIENT_RETRY_POLICY.jitter is not None


def test_a_transient_load_failure_is_retried_and_the_run_succeeds(tmp_path, monkeypatch):
    landing = _expense_landing(tmp_path, EXPENSE_ROWS)
    warehouse = _warehouse(tmp_path, landing)
    calls = []

    def load_then_lose_the_lock_once(*args, **kwargs):
        calls.append(kwargs.get("tables"))
        if len(calls) == 1:
            raise duckdb.IOException("Could not set lock on file: held by another process")
        return real_load_source(*args, **kwargs)

    real_load_source = raw.load_source
    monkeypatch.setattr(raw, "load_source", load_then_lose_the_lock_once)

    asset = build_raw_source_asset(load_contracts()["finance"])
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [asset], resources={"warehouse": warehouse}, instance=instance, raise_on_error=False
        )

    assert result.success
    assert _attempts(result) == 2
    assert len(calls) == 2
    metadata = _materializations(result)[EXPENSES]
    assert metadata["rows_loaded"] == metadata["dagster/row_count"] == 3
    with duckdb.connect(warehouse.duckdb_path, read_only=True) as con:
        [(rows,)] = con.execute("select count(*) from finance.sales_marketing_expense").fetchall()
    assert rows == 3


def test_a_broken_landing_file_fails_at_once_without_retries(tmp_path):
    # No amount column: no retry can load this file.
    landing = _expense_landing(tmp_path, "expense_month,department\n2026-06-01,sales\n")
    warehouse = _warehouse(tmp_path, landing)

    asset = build_raw_source_asset(load_contracts()["finance"])
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [asset], resources={"warehouse": warehouse}, instance=instance, raise_on_error=False
        )

    assert not result.success
    assert _attempts(result) == 1
    assert _materializations(result)[EXPENSES]["files_failed"] == 1


def test_raw_tables_report_their_load_time_and_newest_file(tmp_path):
    landing = _expense_landing(tmp_path, EXPENSE_ROWS)
    older = landing / "finance" / "sales_marketing_expense" / "2026-05.csv"
    older.write_text(EXPENSE_ROWS.splitlines()[0] + "\n2026-04-01,sales,900.00,usd\n")
    newest = dt.datetime(2026, 6, 30, 5, 0, tzinfo=dt.UTC)
    os.utime(older, (newest.timestamp() - 86400, newest.timestamp() - 86400))
    current = landing / "finance" / "sales_marketing_expense" / "2026-06.csv"
    os.utime(current, (newest.timestamp(), newest.timestamp()))

    asset = build_raw_source_asset(load_contracts()["finance"])
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [asset], resources={"warehouse": _warehouse(tmp_path, landing)}, instance=instance
        )

    metadata = _materializations(result)[EXPENSES]
    assert metadata["newest_file_at"] == newest.timestamp()
    assert metadata["files_seen"] == metadata["files_loaded"] == 2
    assert metadata["dagster/row_count"] == 4
    assert 0 < metadata["load_seconds"] < 60


def test_a_push_that_fails_after_the_crm_confirmed_is_retried_and_sends_nothing_twice(
    built_warehouse, tmp_path
):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop schema if exists crm_sync cascade")
    warehouse = WarehouseResource(
        duckdb_path=str(copy),
        landing_dir=str(built_warehouse.landing_dir),
        as_of_date="2026-06-30",
    )
    # No token: the push starts the embedded sandbox on this file for each attempt.
    crm = CrmResource(sandbox_db_path=str(tmp_path / "crm_sandbox.sqlite"), interval_seconds=1.0)
    results = []

    def sync_then_drop_the_connection_once(*args, **kwargs):
        result = sync_companies(*args, **kwargs)
        results.append(result)
        if len(results) == 1:
            raise ConnectionResetError("connection reset after the last batch was confirmed")
        return result

    push = build_push_asset(
        "crm_company_sync_push", COMPANY_SYNC_MODEL, "companies", sync_then_drop_the_connection_once
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [push, dg.AssetSpec(COMPANY_SYNC_MODEL)],
            resources={"warehouse": warehouse, "crm": crm},
            selection=[push.key],
            instance=instance,
            raise_on_error=False,
        )

    assert result.success
    assert _attempts(result) == 2
    first, second = results
    assert first.added > 0
    # The first attempt's batches were committed: the retry finds nothing to send.
    assert second.added == second.changed == 0
    assert second.unchanged == second.rows_in == first.rows_in

    metadata = _materializations(result)[push.key]
    assert metadata["unchanged"] == metadata["rows_in"]
    assert metadata["crm_target"] == "sandbox"
    assert metadata["crm"] == crm.target()
    assert 0 < metadata["duration_seconds"] < 300


def test_drain_keeps_the_events_before_a_failure():
    def events():
        yield "seed built"
        yield "model built"
        raise RuntimeError("dbt test failed")

    collected, error = drain(events())
    assert collected == ["seed built", "model built"]
    assert isinstance(error, RuntimeError)
    assert drain(iter(["only"])) == (["only"], None)


def test_health_markdown_by_hand():
    # smb: 3 green scoring 240 in all and 1 red at 20; enterprise: 1 yellow at 50.
    # Totals: 5 accounts, (240 + 20 + 50) / 5 = 62.0; smb mean (240 + 20) / 4 = 65.0.
    rows = [
        ("smb", "green", "v1", 3, 240.0),
        ("smb", "red", "v1", 1, 20.0),
        ("enterprise", "yellow", "v1", 1, 50.0),
    ]
    markdown = health_distribution_markdown(dt.date(2026, 6, 29), rows)
    lines = markdown.splitlines()
    assert lines[0] == (
        "**Health on 2026-06-29**, version in force: **v1**; 5 accounts scored, mean score 62.0."
    )
    assert "| green | 3 | 60.0% | 80.0 |" in lines
    assert "| yellow | 1 | 20.0% | 50.0 |" in lines
    assert "| red | 1 | 20.0% | 20.0 |" in lines
    assert "| all | 5 | 100.0% | 62.0 |" in lines
    assert "| segment | accounts | green | yellow | red | mean score |" in lines
    assert "| smb | 4 | 3 (75.0%) | 0 (0.0%) | 1 (25.0%) | 65.0 |" in lines
    assert "| enterprise | 1 | 0 (0.0%) | 1 (100.0%) | 0 (0.0%) | 50.0 |" in lines
    # smb is listed before enterprise (segment order), whatever the query returned.
    assert lines.index("| smb | 4 | 3 (75.0%) | 0 (0.0%) | 1 (25.0%) | 65.0 |") < lines.index(
        "| enterprise | 1 | 0 (0.0%) | 1 (100.0%) | 0 (0.0%) | 50.0 |"
    )


def test_health_markdown_of_a_day_without_scores():
    markdown = health_distribution_markdown(dt.date(2026, 6, 29), [])
    assert "version in force: **none**; 0 accounts scored" in markdown
    assert "| red | 0 | – | – |" in markdown.splitlines()


@pytest.fixture(scope="module")
def session_materializations(built_warehouse) -> dict[dg.AssetKey, dict]:
    assert built_warehouse.result.success
    return _materializations(built_warehouse.result)


def _relation(key: dg.AssetKey) -> str:
    return ".".join(f'"{part}"' for part in key.path)


def test_every_dbt_table_reports_its_row_count(built_warehouse, session_materializations):
    views = {name for (name,) in built_warehouse.query("select view_name from duckdb_views()")}
    raw_keys = {dg.AssetKey([s.name, t.table]) for s in load_contracts().values() for t in s.tables}
    dbt_keys = [
        key
        for key, metadata in session_materializations.items()
        if key not in raw_keys and "unique_id" in metadata
    ]
    assert HEALTH_MART in dbt_keys
    tables = [key for key in dbt_keys if key.path[-1] not in views]
    assert len(tables) > 20
    for key in tables:
        [(count,)] = built_warehouse.query(f"select count(*) from {_relation(key)}")
        assert session_materializations[key]["dagster/row_count"] == count, key
    # Views are not counted: a count would re-run their query.
    for key in dbt_keys:
        if key.path[-1] in views:
            assert "dagster/row_count" not in session_materializations[key], key


def _markdown_rows(markdown: str, first_header: str) -> dict[str, list[str]]:
    """The body rows of the markdown table whose first header is `first_header`."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith(f"| {first_header} |"):
            in_table = True
        elif in_table and line.startswith("|") and not cells[0].startswith(":"):
            rows[cells[0]] = cells[1:]
        elif not line.startswith("|"):
            in_table = False
    return rows


def test_health_preview_matches_the_mart(built_warehouse, session_materializations):
    metadata = session_materializations[HEALTH_MART]
    day = last_described_day("2026-06-30")
    assert metadata["health_day"] == day.isoformat() == "2026-06-29"
    mart = "marts.fct_account_health_daily"
    where = f"where date_day = date '{day.isoformat()}'"

    by_band = dict(
        built_warehouse.query(f"select health_band, count(*) from {mart} {where} group by 1")
    )
    assert sum(by_band.values()) > 0
    markdown = metadata["health_distribution"]
    bands = _markdown_rows(markdown, "band")
    for band in ("green", "yellow", "red"):
        assert int(bands[band][0]) == by_band.get(band, 0), band
    total = sum(by_band.values())
    assert int(bands["all"][0]) == total == metadata["health_accounts_scored"]
    assert metadata["health_red_share"] == pytest.approx(by_band.get("red", 0) / total)

    [(mean,)] = built_warehouse.query(f"select avg(health_score) from {mart} {where}")
    assert bands["all"][2] == f"{mean:.1f}"

    segments = _markdown_rows(markdown, "segment")
    by_segment = built_warehouse.query(
        f"select segment, health_band, count(*) from {mart} {where} group by all"
    )
    assert set(segments) == {segment for segment, _, _ in by_segment}
    headers = ["green", "yellow", "red"]
    for segment, band, count in by_segment:
        cell = segments[segment][1 + headers.index(band)]
        assert re.fullmatch(rf"{count} \(\d+\.\d%\)", cell), (segment, band, cell)

    versions = built_warehouse.query(f"select distinct config_version from {mart} {where}")
    assert metadata["health_config_version"] == ", ".join(sorted(v for (v,) in versions))
    assert f"version in force: **{metadata['health_config_version']}**" in markdown
