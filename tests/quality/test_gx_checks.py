"""The GX checks as Dagster runs them: one step per suite, runnable in part, and
Data Docs that show every batch although each step renders them once."""

import re
import shutil
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.expectations import build_gx_checks, step_name
from orchestration.quality.gx_suites import data_docs_index, load_suites, run_batches
from orchestration.resources import WarehouseResource

AS_OF = "2026-06-30"
HEALTH = dg.AssetKey(["marts", "fct_account_health_daily"])


def _external_specs(checks: list[dg.AssetChecksDefinition]) -> list[dg.AssetSpec]:
    keys = set()
    for check in checks:
        for spec in check.check_specs:
            keys.add(spec.asset_key)
            keys.update(d.asset_key for d in spec.additional_deps)
    return [dg.AssetSpec(k) for k in sorted(keys)]


def test_each_suite_runs_in_one_step_and_a_partitioned_table_in_its_own():
    steps = {c.node_def.name: c for c in build_gx_checks()}
    batches = {b.check_name: b for s in load_suites() for b in s.batches}
    assert {step_name(b) for b in batches.values()} == set(steps)
    assert set(steps) == {f"gx_{s.name}" for s in load_suites()} | {
        "gx_raw_segment__segment_tracks"
    }
    for name, step in steps.items():
        for spec in step.check_specs:
            batch = batches[spec.name]
            assert step_name(batch) == name
            assert spec.blocking == batch.is_blocking
    tracks = {s.name for s in steps["gx_raw_segment__segment_tracks"].check_specs}
    assert tracks == {"gx_raw_segment__tracks_daily", "gx_raw_segment__recent_users"}


def test_a_run_selecting_one_check_validates_only_that_batch(built_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    warehouse = WarehouseResource(
        duckdb_path=str(copy), landing_dir=str(built_warehouse.landing_dir), as_of_date=AS_OF
    )
    checks = build_gx_checks()
    selected = dg.AssetCheckKey(HEALTH, "gx_marts_health__red_share_by_day")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*checks, *_external_specs(checks)],
            resources={"warehouse": warehouse},
            selection=dg.AssetSelection.checks(selected),
            instance=instance,
        )
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.asset_key, evaluation.check_name) == (selected.asset_key, selected.name)
    assert evaluation.passed
    assert set(evaluation.metadata) >= {
        "suite", "batch", "rows_validated", "expectations", "expectations_failed",
        "results", "data_docs",
    }


def _result_links(docs: Path, gx_name: str) -> set[str]:
    suite, batch = gx_name.split(".")
    return set(re.findall(rf"validations/{suite}/{batch}/__none__/[0-9TZ.]+/", docs.read_text()))


def test_a_second_run_keeps_the_definitions_and_the_docs_list_both_runs(
    built_warehouse, tmp_path
):
    (suite,) = [s for s in load_suites() if s.name == "marts_health"]
    gx_dir = tmp_path / "gx"
    definitions = gx_dir / "gx" / "expectations" / "marts_health"
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        run_batches(con, suite.batches, AS_OF, gx_dir)
        written = {p: p.stat().st_mtime_ns for p in definitions.glob("*.json")}
        run_batches(con, suite.batches, AS_OF, gx_dir)
    assert len(written) == len(suite.batches)
    # Unchanged suites are read back, not written again.
    assert {p: p.stat().st_mtime_ns for p in definitions.glob("*.json")} == written
    docs = data_docs_index(gx_dir)
    for batch in suite.batches:
        assert len(_result_links(docs, f"{suite.name}.{batch.name}")) == 2


def test_a_changed_suite_is_written_again_and_its_page_rendered(built_warehouse, tmp_path):
    (suite,) = [s for s in load_suites() if s.name == "marts_health"]
    batch = suite.batches[0]
    first, *others = batch.expectations
    assert first["type"] == "expect_table_row_count_to_be_between"
    # Two rows at least instead of one: still met, but a different suite.
    changed = replace(batch, expectations=({**first, "kwargs": {"min_value": 2}}, *others))
    gx_dir = tmp_path / "gx"
    stored = gx_dir / "gx" / "expectations" / suite.name / f"{batch.name}.json"
    page = data_docs_index(gx_dir).parent / "expectations" / suite.name / f"{batch.name}.html"
    with duckdb.connect(str(built_warehouse.duckdb_path), read_only=True) as con:
        run_batches(con, [batch], AS_OF, gx_dir)
        before = stored.read_text(), page.read_text()
        (outcome,) = run_batches(con, [changed], AS_OF, gx_dir)
    assert outcome.success
    assert '"min_value": 2' in stored.read_text() and '"min_value": 2' not in before[0]
    assert page.read_text() != before[1]
