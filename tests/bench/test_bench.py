"""The benchmark harness's pure parts: ordering, run-result summaries, targets, memory."""

import json
import os
import sys

import duckdb

from orchestration.bench.__main__ import summarise_run_results
from orchestration.bench.baseline import build_order, run_baseline
from orchestration.bench.measure import run_measured
from orchestration.bench.report import evaluate_targets


def _node(uid, kind, depends=(), materialized="table", code="", schema="main"):
    name = uid.split(".")[-1]
    return {
        "unique_id": uid,
        "name": name,
        "alias": name,
        "schema": schema,
        "database": "memory",
        "resource_type": kind,
        "relation_name": f'"memory"."{schema}"."{name}"',
        "config": {"materialized": materialized},
        "depends_on": {"nodes": list(depends)},
        "compiled_code": code,
    }


def _manifest():
    nodes = [
        _node(
            "model.p.b", "model", ["model.p.a"],
            code='select x * 2 as y from "memory"."main"."a"',
        ),
        _node("model.p.a", "model", materialized="view", code="select 1 as x union all select 2"),
        _node("model.p.e", "model", materialized="ephemeral", code="select 1"),
        _node(
            "model.p.c", "model", ["model.p.b", "model.p.a"], materialized="incremental",
            code='select y from "memory"."main"."b" where y > 2',
        ),
        _node(
            "test.p.t", "test", ["model.p.c"],
            code='select * from "memory"."main"."c" where y < 0',
        ),
    ]
    return {"nodes": {n["unique_id"]: n for n in nodes}}


def test_build_order_puts_parents_first_and_leaves_out_ephemerals():
    order = [n["unique_id"] for n in build_order(_manifest())]
    assert order == ["model.p.a", "model.p.b", "model.p.c"]


def test_baseline_builds_views_and_tables_and_runs_tests():
    con = duckdb.connect()
    result = run_baseline(con, _manifest())
    assert (result.models, result.tests, result.failing_tests) == (3, 1, [])
    # a is a view of 2 rows, b doubles them (2, 4), c keeps y > 2: one row.
    assert result.row_counts == {"main.b": 2, "main.c": 1}
    kinds = dict(
        con.execute("select table_name, table_type from information_schema.tables").fetchall()
    )
    assert kinds == {"a": "VIEW", "b": "BASE TABLE", "c": "BASE TABLE"}


def _timing(start, end):
    return [{"name": "execute", "started_at": start, "completed_at": end}]


def test_model_busy_time_is_the_union_of_overlapping_intervals(tmp_path):
    path = tmp_path / "run_results.json"
    results = [
        # 0-10 s and 5-12 s overlap (12 s busy); 20-21 s apart (1 s); a test is not counted.
        {"unique_id": "model.p.a", "status": "success",
         "timing": _timing("2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z")},
        {"unique_id": "model.p.b", "status": "success",
         "timing": _timing("2026-01-01T00:00:05Z", "2026-01-01T00:00:12Z")},
        {"unique_id": "model.p.c", "status": "error",
         "timing": _timing("2026-01-01T00:00:20Z", "2026-01-01T00:00:21Z")},
        {"unique_id": "test.p.t", "status": "pass",
         "timing": _timing("2026-01-01T00:00:30Z", "2026-01-01T00:01:30Z")},
    ]
    path.write_text(json.dumps({"results": results}))
    summary = summarise_run_results(path)
    assert summary["model_busy_seconds"] == 13.0
    assert summary["statuses"] == {"model:error": 1, "model:success": 2, "test:pass": 1}


def test_targets_say_by_how_much_they_are_missed():
    tier = {
        "tier": "large",
        "stages": {
            "load": {"wall_seconds": 100.0, "peak_rss_bytes": 13_000_000_000},
            "build": {"wall_seconds": 250.0, "peak_rss_bytes": 2_000_000_000},
            "daily_build": {"wall_seconds": 10.0, "peak_rss_bytes": 1},
            "baseline": {"wall_seconds": 210.0, "result": {"seconds": {"total": 200.0}}},
        },
    }
    verdicts = {t["target"]: t for t in evaluate_targets(tier)}
    # 100 + 250 = 350 s against 300 s: 50 s, 17% over.
    assert verdicts["raw load + full dbt build"]["verdict"] == "MISSED by 50.0 s (17% over)"
    # 13 GB against 12 GB.
    assert verdicts["peak memory of any stage"]["verdict"].startswith("MISSED by 1.0 GB")
    # 250 / 200 = 1.25: exactly at the limit is met.
    assert verdicts["dbt build / baseline"]["verdict"] == "met, 0.000x to spare"
    # 10 / 250 = 0.04 against 0.05.
    assert verdicts["daily dbt build / full dbt build"]["verdict"] == "met, 0.010x to spare"
    assert verdicts["make run (whole job)"]["verdict"] == "not measured"
    assert verdicts["make run (whole job)"]["decides"] is False


def test_peak_memory_counts_the_whole_process_tree(tmp_path):
    # Two children holding 150 MB each at the same time: the tree's peak is
    # about 300 MB, more than either child's own high-water mark.
    hold = "x = bytearray(150_000_000); import time; time.sleep(1.5)"
    script = (
        "import subprocess, sys; "
        f"ps = [subprocess.Popen([sys.executable, '-c', {hold!r}]) for _ in range(2)]; "
        "[p.wait() for p in ps]"
    )
    measured = run_measured(
        [sys.executable, "-c", script], dict(os.environ), tmp_path, tmp_path / "log.txt"
    )
    assert measured.returncode == 0
    assert measured.sampled_peak_rss_bytes > 300_000_000
    assert measured.peak_rss_bytes >= measured.maxrss_bytes
