"""A mart broken on purpose fails its GX check, and the CRM push does not run.

Each test breaks a copy of the session's built warehouse, then runs the two
push assets with every GX and CRM check, the dbt models being external (as
if dbt had just built them), against the loopback CRM sandbox.
"""

import dagster as dg
import duckdb
import pytest

from orchestration.defs.crm import CrmResource, build_crm_assets, build_crm_checks
from orchestration.defs.expectations import build_gx_checks
from orchestration.resources import WarehouseResource

COMPANY_PUSH = dg.AssetKey("crm_company_sync_push")
TASK_PUSH = dg.AssetKey("crm_task_sync_push")
HEALTH = dg.AssetKey(["marts", "fct_account_health_daily"])
LATEST_DAY = "(select max(date_day) from marts.fct_account_health_daily)"


def _run_pushes(warehouse: WarehouseResource, crm: CrmResource) -> dg.ExecuteInProcessResult:
    pushes = build_crm_assets()
    checks = [*build_crm_checks(), *build_gx_checks()]
    produced = {k for a in pushes for k in a.keys}
    referenced = {k for a in pushes for deps in a.asset_deps.values() for k in deps}
    for check in checks:
        for spec in check.check_specs:
            referenced.add(spec.asset_key)
            referenced.update(d.asset_key for d in spec.additional_deps)
    external = [dg.AssetSpec(k) for k in sorted(referenced - produced)]
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*pushes, *checks, *external],
            resources={"warehouse": warehouse, "crm": crm},
            selection=dg.AssetSelection.assets(COMPANY_PUSH, TASK_PUSH)
            | dg.AssetSelection.checks(*checks),
            instance=instance,
            raise_on_error=False,
        )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _pushed(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.materialization.asset_key for e in result.get_asset_materialization_events()}


def test_a_clean_warehouse_passes_every_check_and_pushes(warehouse, crm, sandbox_server):
    result = _run_pushes(warehouse, crm)
    assert result.success
    failed = [name for name, e in _evaluations(result).items() if not e.passed]
    assert not failed
    assert _pushed(result) == {COMPANY_PUSH, TASK_PUSH}
    assert sandbox_server.tasks()


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(
            "update marts.fct_account_health_daily set health_score = 120 "
            f"where date_day = {LATEST_DAY} "
            "and account_id = (select min(account_id) from marts.fct_account_health_daily "
            f"where date_day = {LATEST_DAY})",
            id="score-of-120",
        ),
        pytest.param(
            "insert into marts.fct_account_health_daily "
            f"select * from marts.fct_account_health_daily where date_day = {LATEST_DAY} limit 1",
            id="duplicate-account-day",
        ),
    ],
)
def test_a_broken_health_mart_fails_its_gx_check_and_blocks_the_push(
    warehouse, crm, sandbox_server, breakage
):
    with duckdb.connect(warehouse.duckdb_path) as con:
        con.execute(breakage)

    result = _run_pushes(warehouse, crm)

    assert not result.success
    check = _evaluations(result)["gx_marts_health__recent_scores"]
    assert check.passed is False
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert check.asset_key == HEALTH
    # Both sync models read the health mart, so neither push ran, and the
    # sandbox saw no write at all.
    assert not _pushed(result) & {COMPANY_PUSH, TASK_PUSH}
    assert sandbox_server.tasks() == []
    written = [e for e in sandbox_server.request_log if "batch/update" in e[1]]
    assert written == []
