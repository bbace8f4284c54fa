"""The reverse-ETL Dagster assets against a built warehouse and the CRM sandbox.

Each test works on a copy of the session's warehouse (tests/conftest.py) with
the sync state dropped, so it starts from a CRM that has never been written to.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from orchestration.crm.sandbox import SandboxServer
from orchestration.defs.crm import (
    COMPANY_SYNC_MODEL,
    IDENTITY_COVERAGE_MODEL,
    TASK_SYNC_MODEL,
    CrmResource,
    build_crm_assets,
    build_crm_checks,
    read_sync_rows,
)
from orchestration.crm.mapping import load_mapping
from orchestration.resources import WarehouseResource
from orchestration.settings import load_settings

COMPANY_PUSH = dg.AssetKey("crm_company_sync_push")
TASK_PUSH = dg.AssetKey("crm_task_sync_push")
WRITE_PATHS = (
    "/crm/v3/objects/companies/batch/update",
    "/crm/v3/objects/tasks/batch/create",
    "/crm/v3/objects/tasks/batch/update",
)


def _query(warehouse: WarehouseResource, sql: str) -> list[tuple]:
    with duckdb.connect(warehouse.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _run(warehouse: WarehouseResource, crm: CrmResource) -> dg.ExecuteInProcessResult:
    """Materialize both pushes with the blocking checks, the dbt models being external."""
    checks = build_crm_checks()
    external = [dg.AssetSpec(k) for k in (COMPANY_SYNC_MODEL, TASK_SYNC_MODEL)]
    external.append(dg.AssetSpec(IDENTITY_COVERAGE_MODEL))
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*build_crm_assets(), *checks, *external],
            resources={"warehouse": warehouse, "crm": crm},
            selection=dg.AssetSelection.assets(COMPANY_PUSH, TASK_PUSH)
            | dg.AssetSelection.checks(*checks),
            instance=instance,
            raise_on_error=False,
        )


def _counts(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict]:
    return {
        event.materialization.asset_key: {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (c.asset_key.to_user_string(), c.check_name): c.passed
        for c in result.get_asset_check_evaluations()
    }


def _writes(sandbox: SandboxServer) -> list:
    return [entry for entry in sandbox.request_log if entry[1] in WRITE_PATHS]


def test_the_push_writes_every_row_then_a_second_run_sends_nothing(
    warehouse, crm, sandbox_server
):
    result = _run(warehouse, crm)
    assert result.success
    assert all(_checks(result).values())

    companies = _query(
        warehouse,
        "select account_id, health_score, mrr, lifecycle_stage, open_task_count "
        "from sync.crm_company_sync",
    )
    tasks = _query(warehouse, "select task_key, account_id, task_status from sync.crm_task_sync")
    counts = _counts(result)
    assert counts[COMPANY_PUSH]["added"] == len(companies) > 0
    assert counts[TASK_PUSH]["added"] == len(tasks) > 0
    assert counts[COMPANY_PUSH]["rejected"] == counts[TASK_PUSH]["rejected"] == 0
    assert counts[COMPANY_PUSH]["readback_mismatches"] == 0

    for account_id, score, mrr, stage, open_tasks in companies:
        stored = sandbox_server.company(str(account_id))
        assert stored is not None
        assert float(stored["cs_mrr"]) == pytest.approx(float(mrr))
        assert stored["cs_lifecycle_stage"] == stage
        assert int(stored["cs_open_task_count"]) == open_tasks
        # A customer without a current score has the property cleared, not absent.
        assert stored["cs_health_score"] == ("" if score is None else stored["cs_health_score"])
        if score is not None:
            assert float(stored["cs_health_score"]) == pytest.approx(score)

    crm_tasks = {t["properties"]["cs_task_key"]: t for t in sandbox_server.tasks()}
    assert set(crm_tasks) == {key for key, _, _ in tasks}
    for key, account_id, status in tasks:
        assert crm_tasks[key]["properties"]["hs_task_status"] == status
        assert crm_tasks[key]["associations"]["companies"] == [str(account_id)]

    [(runs,)] = _query(warehouse, "select count(*) from crm_sync.sync_runs where mode = 'upsert'")
    assert runs == 2

    writes_before = len(_writes(sandbox_server))
    second = _run(warehouse, crm)
    assert second.success
    again = _counts(second)
    for key in (COMPANY_PUSH, TASK_PUSH):
        assert again[key]["added"] == again[key]["changed"] == 0
        assert again[key]["unchanged"] == again[key]["rows_in"]
    assert len(_writes(sandbox_server)) == writes_before
    assert len(sandbox_server.tasks()) == len(tasks)


def test_metadata_never_carries_the_token(warehouse, crm):
    result = _run(warehouse, crm)
    assert result.success
    assert crm.token not in repr(crm)
    assert crm.token not in str(_counts(result))


def test_a_rejected_share_above_the_maximum_stops_the_company_write(
    warehouse, crm, sandbox_server
):
    # Duplicated keys are rejected locally: 10% of the rows, over the 2% maximum.
    with duckdb.connect(warehouse.duckdb_path) as con:
        con.execute(
            "insert into sync.crm_company_sync "
            "select * from sync.crm_company_sync "
            "qualify row_number() over (order by account_id) % 10 = 0"
        )

    result = _run(warehouse, crm)

    assert not result.success
    checks = _checks(result)
    assert checks[("sync/crm_company_sync", "crm_dry_run_rejected_share")] is False
    assert checks[("sync/crm_task_sync", "crm_dry_run_rejected_share")] is True
    counts = _counts(result)
    assert COMPANY_PUSH not in counts
    assert not [w for w in _writes(sandbox_server) if "companies" in w[1]]
    # The task model passed its checks, so its push went ahead.
    assert counts[TASK_PUSH]["added"] > 0
    [(dry_runs,)] = _query(
        warehouse,
        "select count(*) from crm_sync.sync_runs "
        "where mode = 'dry_run' and object_type = 'companies' and rejected > 0",
    )
    assert dry_runs == 1


def test_low_identity_coverage_stops_every_write(warehouse, crm, sandbox_server):
    with duckdb.connect(warehouse.duckdb_path) as con:
        con.execute(
            "update intermediate.int_account_identity_coverage "
            "set matched_share = 0.5 where source_system = 'stripe'"
        )

    result = _run(warehouse, crm)

    assert not result.success
    checks = _checks(result)
    assert checks[("sync/crm_company_sync", "crm_identity_coverage")] is False
    assert checks[("sync/crm_task_sync", "crm_identity_coverage")] is False
    assert _counts(result) == {}
    assert _writes(sandbox_server) == []


def test_a_missing_mapped_column_fails_before_anything_is_sent(warehouse):
    with duckdb.connect(warehouse.duckdb_path) as con:
        con.execute("alter table sync.crm_company_sync drop column health_band")
        with pytest.raises(dg.Failure, match="lacks column\\(s\\) health_band"):
            read_sync_rows(con, COMPANY_SYNC_MODEL, load_mapping())


@pytest.fixture
def embedded_sandbox(built_warehouse) -> Iterator[SandboxServer]:
    """The sandbox file the session's build_warehouse run pushed to, reopened."""
    server = SandboxServer(built_warehouse.duckdb_path.parent / "crm_sandbox.sqlite", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_build_warehouse_pushes_to_the_embedded_sandbox(built_warehouse, embedded_sandbox):
    """With no token, the whole job (make run) writes to the in-process sandbox."""
    events = built_warehouse.result.get_asset_materialization_events()
    materialized = {e.materialization.asset_key for e in events}
    assert {COMPANY_PUSH, TASK_PUSH} <= materialized

    [(customers, scored)] = built_warehouse.query(
        "select count(*), count(health_score) from sync.crm_company_sync"
    )
    companies = embedded_sandbox.companies()
    written = [c for c in companies if c["properties"].get("cs_lifecycle_stage")]
    assert len(written) == customers > 0
    assert sum(bool(c["properties"].get("cs_health_score")) for c in written) == scored
    [(task_rows,)] = built_warehouse.query("select count(*) from sync.crm_task_sync")
    assert len(embedded_sandbox.tasks()) == task_rows


def test_only_the_configured_warehouse_reaches_a_real_crm(tmp_path):
    settings = load_settings(
        {
            "CS_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
            "CS_AS_OF_DATE": "2026-06-30",
            "HUBSPOT_ACCESS_TOKEN": "pat-not-a-real-token",
        }
    )
    configured = CrmResource.for_warehouse(settings, tmp_path / "warehouse.duckdb")
    assert not configured.uses_sandbox
    assert "pat-not-a-real-token" not in repr(configured)

    other = tmp_path / "elsewhere" / "warehouse.duckdb"
    temporary = CrmResource.for_warehouse(settings, other)
    assert temporary.uses_sandbox
    assert temporary.sandbox_db_path == str(other.parent / "crm_sandbox.sqlite")
