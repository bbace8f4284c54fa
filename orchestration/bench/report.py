"""Targets, the printed table and the results files of ``make bench``.

The targets are the issue's: at 100,000 accounts the raw load and full dbt
build within 5 minutes, a process-tree peak below 12 GB, the dbt build at most
1.25 times the baseline, a daily incremental run under 5% of the full build;
at 500 accounts the whole ``make run`` within 60 s. Smaller tiers are checked
against the same numbers as an indication; only the tier a target names
decides it. A missed target is reported with by how much.
"""

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from orchestration.settings import physical_memory_bytes

GB = 1_000_000_000
TARGETS = (
    # name, tier it is set for, limit, unit
    ("make run (whole job)", "small", 60.0, "s"),
    ("raw load + full dbt build", "large", 300.0, "s"),
    ("peak memory of any stage", "large", 12.0, "GB"),
    ("dbt build / baseline", "large", 1.25, "x"),
    ("daily dbt build / full dbt build", "large", 0.05, "x"),
)
# Stages in the order they run, with what their rate counts.
STAGE_ROWS = {
    "generate": "rows generated",
    "load": "raw rows loaded",
    "build": "events",
    "gx": "rows validated",
    "crm": "records in",
    "daily_load": "raw rows loaded",
    "daily_build": "events of the day",
    "baseline": "events",
    "make_run": "",
}


def machine_info() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_bytes": physical_memory_bytes(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dbt": metadata.version("dbt-core"),
        "dbt_duckdb": metadata.version("dbt-duckdb"),
        "platform": platform.platform(),
    }


def _seconds(stages: dict[str, Any], name: str) -> float | None:
    stage = stages.get(name) or {}
    return stage.get("wall_seconds")


def stage_rows(tier: dict[str, Any], name: str) -> int | None:
    """The rows a stage's rate is counted in."""
    stage = tier["stages"].get(name) or {}
    result = stage.get("result") or {}
    events = tier["generated_rows"].get("segment.tracks", 0)
    if name == "generate" and not stage.get("cached"):
        return sum(tier["generated_rows"].values())
    if name == "load":
        return sum(t["loaded"] + t["quarantined"] for t in result.get("tables", {}).values())
    if name in ("build", "baseline"):
        return events
    if name == "gx":
        return result.get("rows_validated")
    if name == "crm":
        return sum(r["rows_in"] for r in result.values() if isinstance(r, dict))
    if name == "daily_load":
        return result.get("loaded", 0) + result.get("quarantined", 0)
    if name == "daily_build":
        daily = tier["stages"].get("daily_load", {}).get("result", {})
        return daily.get("loaded")
    return None


def baseline_seconds(tier: dict[str, Any]) -> float | None:
    """DuckDB's own time for the baseline's seeds, models and tests (no process start-up)."""
    result = (tier["stages"].get("baseline") or {}).get("result") or {}
    return (result.get("seconds") or {}).get("total")


def evaluate_targets(tier: dict[str, Any]) -> list[dict[str, Any]]:
    stages = tier["stages"]
    load, build = _seconds(stages, "load"), _seconds(stages, "build")
    baseline = baseline_seconds(tier)
    peaks = [s.get("peak_rss_bytes") for s in stages.values() if s.get("peak_rss_bytes")]
    values = {
        "make run (whole job)": _seconds(stages, "make_run"),
        "raw load + full dbt build": load + build if load and build else None,
        "peak memory of any stage": max(peaks) / GB if peaks else None,
        "dbt build / baseline": build / baseline if build and baseline else None,
        "daily dbt build / full dbt build": (
            _seconds(stages, "daily_build") / build
            if build and _seconds(stages, "daily_build") else None
        ),
    }
    targets = []
    for name, tier_name, limit, unit in TARGETS:
        value = values[name]
        entry = {
            "target": name,
            "set_for_tier": tier_name,
            "limit": limit,
            "unit": unit,
            "value": None if value is None else round(value, 4),
            "decides": tier_name == tier["tier"],
        }
        if value is None:
            entry["verdict"] = "not measured"
        elif value <= limit:
            entry["verdict"] = f"met, {_amount(limit - value, unit)} to spare"
        else:
            entry["verdict"] = (
                f"MISSED by {_amount(value - limit, unit)} ({value / limit - 1:.0%} over)"
            )
        targets.append(entry)
    return targets


def _amount(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.3f}x"
    return f"{value:.1f} {unit}"


def _rate(rows: int | None, seconds: float | None) -> str:
    if not rows or not seconds:
        return ""
    return f"{rows / seconds:,.0f}"


def tier_table(tier: dict[str, Any]) -> str:
    """A markdown table of the stages, then the targets."""
    lines = [
        f"### {tier['tier']}: {tier['accounts']:,} accounts, "
        f"{tier['generated_rows'].get('segment.tracks', 0):,} events "
        f"(DuckDB memory_limit {tier['duckdb_limits']['memory_limit']}, "
        f"threads {tier['duckdb_limits']['threads']})",
        "",
        "| stage | wall (s) | peak memory (GB) | rows | rows/s | notes |",
        "| :-- | --: | --: | --: | --: | :-- |",
    ]
    for name, counted in STAGE_ROWS.items():
        stage = tier["stages"].get(name)
        if stage is None:
            continue
        if stage.get("cached"):
            lines.append(f"| {name} | cached | | | | landing folder reused |")
            continue
        seconds = stage["wall_seconds"]
        rows = stage_rows(tier, name)
        lines.append(
            f"| {name} | {seconds:.1f} | {stage['peak_rss_bytes'] / GB:.2f} | "
            f"{'' if rows is None else f'{rows:,}'} | {_rate(rows, seconds)} | "
            f"{_notes(tier, name, stage)} |"
        )
    lines += [
        "",
        "| target | set for | limit | measured | verdict |",
        "| :-- | :-- | --: | --: | :-- |",
    ]
    for t in tier["targets"]:
        value = "" if t["value"] is None else f"{t['value']:g}"
        verdict = t["verdict"] if t["decides"] else f"({t['verdict']}; indicative)"
        lines.append(
            f"| {t['target']} | {t['set_for_tier']} | {t['limit']:g} {t['unit']} | "
            f"{value} | {verdict} |"
        )
    for problem in tier["problems"]:
        lines.append(f"\nProblem: {problem}")
    return "\n".join(lines)


def _notes(tier: dict[str, Any], name: str, stage: dict[str, Any]) -> str:
    result = stage.get("result") or {}
    if stage.get("returncode"):
        return f"**failed, exit {stage['returncode']}**"
    if name in ("build", "daily_build"):
        statuses = ", ".join(f"{k} {v}" for k, v in result.get("statuses", {}).items())
        return f"models executing {result.get('model_busy_seconds', 0):.1f} s; {statuses}"
    if name == "baseline":
        seconds = result.get("seconds", {})
        counts = (tier["stages"].get("counts") or {}).get("result", {}).get("row_counts", {})
        differing = [
            k for k, v in result.get("row_counts", {}).items() if counts.get(k, v) != v
        ]
        return (
            f"DuckDB time {seconds.get('total', 0):.1f} s = seeds {seconds.get('seeds', 0):.1f}"
            f" + models {seconds.get('models', 0):.1f} + tests {seconds.get('tests', 0):.1f}; "
            f"{result.get('models', 0)} models, {result.get('tests', 0)} tests; "
            f"tables with other row counts than dbt's: {len(differing)}"
        )
    if name == "gx":
        return f"{result.get('batches', 0)} batches, {len(result.get('failed', []))} failed"
    if name == "crm":
        return "; ".join(
            f"{k}: {v['added']} added, {v['changed']} changed, {v['requests']} requests"
            for k, v in result.items() if isinstance(v, dict)
        )
    if name in ("load", "daily_load"):
        tables = result.get("tables")
        quarantined = (
            sum(t["quarantined"] for t in tables.values()) if tables
            else result.get("quarantined", 0)
        )
        return f"{quarantined:,} quarantined; {len(result.get('failures', []))} failed files"
    return ""


def write_results(directory: Path, results: dict[str, dict[str, Any]]) -> None:
    """Merge these tiers into results.json (other tiers' last results are kept) and
    rewrite results.md from it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "results.json"
    merged = json.loads(path.read_text()) if path.is_file() else {"tiers": {}}
    merged["tiers"].update(results)
    path.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    order = ["small", "medium", "large"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m orchestration.bench`); see docs/benchmarks.md.",
    ]
    for name in sorted(merged["tiers"], key=lambda t: order.index(t) if t in order else 9):
        tier = merged["tiers"][name]
        m = tier["machine"]
        lines += [
            "",
            f"Measured {tier['measured_at']} on {m['cores']} cores, "
            f"{m['memory_bytes'] / GB:.1f} GB, Python {m['python']}, DuckDB {m['duckdb']}, "
            f"dbt {m['dbt']} (dbt-duckdb {m['dbt_duckdb']}).",
            "",
            tier_table(tier),
        ]
    (directory / "results.md").write_text("\n".join(lines) + "\n")
