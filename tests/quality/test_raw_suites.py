"""The raw-source GX suites catch the breakage they exist for, at the severity it deserves:
a broken feed blocks the build, a defect staging absorbs only warns."""

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.quality.gx_suites import BatchOutcome, load_suites, run_batches

# The as-of date of the session warehouse (tests/conftest.py).
AS_OF = "2026-06-30"


@pytest.fixture
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    return copy


def _break_and_validate(path: Path, suite_name: str, sql: str, gx_dir: Path):
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    (suite,) = [s for s in load_suites() if s.name == suite_name]
    with duckdb.connect(str(path), read_only=True) as con:
        return {o.batch.name: o for o in run_batches(con, suite.batches, AS_OF, gx_dir)}


def _failures(outcome: BatchOutcome) -> set[tuple[str | None, str]]:
    return {(f.column, f.severity) for f in outcome.failed}


def test_a_week_without_events_blocks_the_build(warehouse_copy, tmp_path):
    outcomes = _break_and_validate(
        warehouse_copy,
        "raw_segment",
        f"delete from segment.tracks where received_at >= date '{AS_OF}' - 7",
        tmp_path / "gx",
    )
    daily = outcomes["tracks_daily"]
    assert daily.batch.is_blocking and daily.critical_failed
    assert _failures(daily) == {
        ("event_count", "critical"),
        ("ratio_to_weekday_median", "warning"),
    }
    (empty_days,) = [f for f in daily.failed if f.column == "event_count"]
    assert empty_days.unexpected_count == 7
    # Group calls are another feed: they still pass.
    assert outcomes["groups"].success and outcomes["groups_weekly"].success


def test_a_company_file_loaded_twice_warns_without_blocking(warehouse_copy, tmp_path):
    outcomes = _break_and_validate(
        warehouse_copy,
        "raw_hubspot",
        "insert into hubspot.company select * from hubspot.company",
        tmp_path / "gx",
    )
    companies = outcomes["companies"]
    assert not companies.success and not companies.critical_failed
    assert [(f.type, f.column) for f in companies.failed] == [
        ("expect_compound_columns_to_be_unique", "id, _fivetran_synced")
    ]
    assert all(o.success for name, o in outcomes.items() if name != "companies")


@pytest.mark.parametrize(("share", "warns"), [(0.02, False), (0.20, True)])
def test_orphan_tickets_warn_only_beyond_the_usual_few(warehouse_copy, tmp_path, share, warns):
    # The demo already sends 0.5% of tickets to deleted organizations; two
    # points more stay within the 95% the suite asks for, twenty do not.
    outcomes = _break_and_validate(
        warehouse_copy,
        "raw_zendesk",
        f"""
        update zendesk.ticket set organization_id = -1
        where id in (
            select id from zendesk.ticket order by id
            limit (select cast({share} * count(*) as integer) from zendesk.ticket)
        )
        """,
        tmp_path / "gx",
    )
    tickets = outcomes["tickets"]
    assert tickets.success is not warns
    assert not tickets.critical_failed
    if warns:
        assert _failures(tickets) == {("is_organization_known", "warning")}
