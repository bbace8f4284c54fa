"""The GX suites in expectations/: they load, point at real relations, pass on a
built warehouse, fail on broken data, and name the file and field when malformed."""

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.dbt import DBT_PROJECT
from orchestration.ingest.contracts import load_contracts
from orchestration.quality.gx_suites import (
    SuiteError,
    _expectation,
    data_docs_index,
    load_suite,
    load_suites,
    run_batches,
)

AS_OF = "2026-06-30"
LATEST_DAY = "(select max(date_day) from marts.fct_account_health_daily)"
FAMILIES = {"marts_revenue", "marts_health", "marts_signals", "sync_payloads"}


def _manifest_relations() -> set[str]:
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    return {
        f"{node['schema']}.{node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }


def _raw_relations() -> set[str]:
    return {f"{s.name}.{t.table}" for s in load_contracts().values() for t in s.tables}


def test_every_mart_family_and_raw_source_has_a_suite():
    names = {s.name for s in load_suites()}
    assert FAMILIES <= names
    assert {f"raw_{source}" for source in load_contracts()} <= names


def test_every_batch_reads_a_relation_the_project_builds_or_loads():
    known = _manifest_relations() | _raw_relations()
    for suite in load_suites():
        for batch in suite.batches:
            assert batch.relation in known, f"{suite.path}: {batch.name} → {batch.relation}"
            for other in batch.reads:
                assert other in known, f"{suite.path}: {batch.name} reads {other}"


def test_every_expectation_is_one_gx_knows_with_arguments_it_accepts():
    for suite in load_suites():
        for batch in suite.batches:
            for spec in batch.expectations:
                expectation = _expectation(spec)
                assert expectation.expectation_type == spec["type"]


@pytest.fixture
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    return copy


def _run_suite(path: Path, name: str, gx_dir: Path):
    (suite,) = [s for s in load_suites() if s.name == name]
    with duckdb.connect(str(path), read_only=True) as con:
        return {o.batch.name: o for o in run_batches(con, suite.batches, AS_OF, gx_dir)}


def test_the_whole_job_ran_every_gx_check_and_they_passed(built_warehouse):
    evaluations = {
        c.check_name: c for c in built_warehouse.result.get_asset_check_evaluations()
        if c.check_name.startswith("gx_")
    }
    expected = {b.check_name for s in load_suites() for b in s.batches}
    assert set(evaluations) == expected
    failed = {name: e.metadata.get("failures") for name, e in evaluations.items() if not e.passed}
    assert not failed
    docs = data_docs_index(built_warehouse.duckdb_path.parent / "gx")
    assert docs.is_file() and "marts_health.recent_scores" in docs.read_text()


def test_a_score_above_100_fails_the_health_suite_as_critical(warehouse_copy, tmp_path):
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute(
            "update marts.fct_account_health_daily set health_score = 120 "
            f"where date_day = {LATEST_DAY} and account_id = (select min(account_id) "
            f"from marts.fct_account_health_daily where date_day = {LATEST_DAY})"
        )
    outcomes = _run_suite(warehouse_copy, "marts_health", tmp_path / "gx")
    broken = outcomes["recent_scores"]
    assert not broken.success and broken.critical_failed
    (failure,) = broken.failed
    assert failure.type == "expect_column_values_to_be_between"
    assert failure.column == "health_score"
    assert failure.unexpected_count == 1 and failure.partial_unexpected == [120]
    # The score no longer equals its contributions: the cross-mart batch sees it too.
    assert not outcomes["latest_components"].success


def test_a_duplicated_account_month_fails_the_revenue_suite(warehouse_copy, tmp_path):
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute(
            "insert into marts.fct_account_mrr_monthly select * from "
            "marts.fct_account_mrr_monthly where month_start_date = '2026-06-01' limit 1"
        )
    outcomes = _run_suite(warehouse_copy, "marts_revenue", tmp_path / "gx")
    broken = outcomes["recent_account_months"]
    assert broken.critical_failed
    assert [f.type for f in broken.failed] == ["expect_compound_columns_to_be_unique"]
    assert all(o.success for name, o in outcomes.items() if name != "recent_account_months")


def test_a_red_share_jump_warns_without_blocking(warehouse_copy, tmp_path):
    # Fifteen points more red on the last day: above the 10-point warning,
    # below the 25-point critical limit.
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute(
            """
            update marts.fct_account_health_daily set health_band = 'red'
            where date_day = (select max(date_day) from marts.fct_account_health_daily)
              and account_id in (
                select account_id from marts.fct_account_health_daily
                where date_day = (select max(date_day) from marts.fct_account_health_daily)
                  and health_band <> 'red'
                order by account_id
                limit (select (0.15 * count(*))::int from marts.fct_account_health_daily
                       where date_day = (select max(date_day)
                                         from marts.fct_account_health_daily))
              )
            """
        )
    outcome = _run_suite(warehouse_copy, "marts_health", tmp_path / "gx")["red_share_by_day"]
    assert not outcome.success
    assert not outcome.critical_failed
    assert {(f.column, f.severity) for f in outcome.failed} == {("red_share_change", "warning")}


def test_a_malformed_suite_names_its_file_and_field(tmp_path):
    source = Path("expectations/marts_health.json")
    suite = json.loads(source.read_text())
    suite["expectations"][3]["meta"]["batch"] = "no_such_batch"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match=r"broken\.json: expectations\[3\]\.meta\.batch"):
        load_suite(broken)

    del suite["meta"]["batches"]
    broken.write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match=r"broken\.json: meta: missing `batches`"):
        load_suite(broken)

    broken.write_text("{not json")
    with pytest.raises(SuiteError, match=r"broken\.json: not valid JSON"):
        load_suite(broken)
