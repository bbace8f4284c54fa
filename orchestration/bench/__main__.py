"""``make bench``: run tiers of demo data through the pipeline and compare with the targets.

    python -m orchestration.bench [--tiers small,medium,large] [--regenerate]

For each tier: generate its landing folder into ``data/bench/<tier>/landing``
(cached: skipped when the folder's ``_generation.json`` matches the tier's
config), then on a fresh warehouse measure the raw load, the full dbt build,
the GX suites, the CRM sync to the sandbox and a daily incremental run, then
the baseline (dbt's compiled SQL straight through DuckDB on a copy of the
raw-loaded warehouse). Prints a table per tier and the targets met or missed,
and merges the results into ``benchmarks/results.json`` and ``results.md``.
Command-line entry point: it prints.
"""

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from orchestration.bench.measure import Measurement, run_measured
from orchestration.bench.report import (
    machine_info,
    tier_table,
    evaluate_targets,
    write_results,
)
from orchestration.settings import GENERATION_MANIFEST, PROJECT_DIR, load_settings

# Accounts per tier. The generator's default event intensity gives about 1.8k
# events per account over 24 months (0.9M for the small tier, the demo);
# the larger tiers use 0.47 for about 1,000 per account: 10M and 100M events.
TIERS = {"small": 500, "medium": 10_000, "large": 100_000}
EVENT_INTENSITY = {"small": 1.0, "medium": 0.47, "large": 0.47}
DEFAULT_TIERS = ("small", "medium")
BENCH_DIR = PROJECT_DIR / "data" / "bench"
RESULTS_DIR = PROJECT_DIR / "benchmarks"
# A fixed as-of date and seed: the same tier is the same data on every run,
# so results compare across runs and machines and the generation is cached.
AS_OF_DATE = dt.date(2026, 12, 1)
SEED = 42
MONTHS = 24


def generator_config(accounts: int, event_intensity: float = 1.0) -> dict[str, Any]:
    return {
        "seed": SEED,
        "accounts": accounts,
        "months": MONTHS,
        "as_of_date": AS_OF_DATE.isoformat(),
        "event_intensity": event_intensity,
    }


def _is_cached(landing: Path, config: dict[str, Any]) -> bool:
    """The landing folder holds a complete generation of exactly this config."""
    manifest_path = landing / GENERATION_MANIFEST
    if not manifest_path.is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    return all(str(manifest.get(key)) == str(value) for key, value in config.items())


class StageFailed(Exception):
    """A stage the later ones depend on failed: the tier stops there."""


class TierRun:
    """The folders, environment and measurements of one tier."""

    def __init__(self, tier: str, accounts: int) -> None:
        self.tier, self.accounts = tier, accounts
        self.root = BENCH_DIR / tier
        self.landing = self.root / "landing"
        self.warehouse = self.root / "warehouse.duckdb"
        self.baseline = self.root / "baseline.duckdb"
        self.logs = self.root / "logs"
        self.stages: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        settings = load_settings()
        self.limits = {
            "memory_limit": settings.duckdb_memory_limit,
            "threads": settings.duckdb_threads,
            "temp_directory": str(settings.duckdb_temp_dir),
        }
        settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)

    def env(self, duckdb_path: Path, as_of: dt.date = AS_OF_DATE) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "CS_LANDING_DIR": str(self.landing),
                "CS_DUCKDB_PATH": str(duckdb_path),
                "CS_AS_OF_DATE": as_of.isoformat(),
                "CS_CRM_SANDBOX_PATH": str(self.root / "crm_sandbox.sqlite"),
                # Benchmark data never reaches a real CRM portal.
                "HUBSPOT_ACCESS_TOKEN": "",
                "CS_DUCKDB_MEMORY_LIMIT": self.limits["memory_limit"],
                "CS_DUCKDB_THREADS": str(self.limits["threads"]),
                "CS_DUCKDB_TEMP_DIR": self.limits["temp_directory"],
                "DAGSTER_HOME": str(self.root / "dagster_home"),
            }
        )
        return env

    def _record(self, name: str, measured: Measurement, extra: dict[str, Any]) -> None:
        self.stages[name] = {
            "wall_seconds": round(measured.wall_seconds, 2),
            "peak_rss_bytes": measured.peak_rss_bytes,
            "returncode": measured.returncode,
            "log": measured.log_path,
            **extra,
        }
        if measured.returncode != 0:
            self.problems.append(
                f"{name} failed (exit {measured.returncode}); see {measured.log_path}"
            )
        print(
            f"  {name:<18} {measured.wall_seconds:8.1f} s  "
            f"peak {measured.peak_rss_bytes / 2**30:5.2f} GiB  exit {measured.returncode}",
            flush=True,
        )

    def stage(
        self, name: str, *arguments: str, worker: str | None = None,
        env: dict[str, str] | None = None,
    ) -> dict:
        """Run one ``orchestration.bench.stages`` worker (default: ``name``) in its own process."""
        out = self.root / "stages" / f"{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        command = [sys.executable, "-m", "orchestration.bench.stages", worker or name]
        command += ["--out", str(out), *arguments]
        measured = run_measured(
            command, env or self.env(self.warehouse), PROJECT_DIR, self.logs / f"{name}.log"
        )
        result = json.loads(out.read_text()) if out.is_file() else {}
        self._record(name, measured, {"result": result})
        if measured.returncode != 0:
            raise StageFailed(name)
        return result

    def dbt(self, name: str, args: list[str], duckdb_path: Path, as_of: dt.date) -> dict:
        """A dbt command in its own process; its run results summarised."""
        target = self.root / f"target_{name}"
        command = [
            str(Path(sys.executable).parent / "dbt"), *args,
            "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(target), "--log-path", str(self.logs / f"dbt_{name}"),
        ]
        measured = run_measured(
            command, self.env(duckdb_path, as_of), PROJECT_DIR, self.logs / f"{name}.log"
        )
        summary = summarise_run_results(target / "run_results.json")
        self._record(name, measured, {"result": summary})
        # A failing model or test exits 1 (a problem, recorded) yet the build
        # went on around it, so later stages still measure something; a run
        # without results or with dbt's own error (exit 2), or a failed
        # compile, leaves nothing for them.
        code = measured.returncode
        if code != 0 and (name == "baseline_compile" or not summary or code > 1):
            raise StageFailed(name)
        return summary


def summarise_run_results(path: Path) -> dict[str, Any]:
    """Statuses by resource type and the time models spent executing (busy wall time)."""
    if not path.is_file():
        return {}
    results = json.loads(path.read_text())["results"]
    statuses: dict[str, int] = {}
    intervals = []
    for item in results:
        kind = item["unique_id"].split(".")[0]
        key = f"{kind}:{item['status']}"
        statuses[key] = statuses.get(key, 0) + 1
        if kind == "model":
            for timing in item.get("timing", []):
                if timing["name"] == "execute" and timing.get("started_at"):
                    intervals.append((
                        dt.datetime.fromisoformat(timing["started_at"].rstrip("Z")),
                        dt.datetime.fromisoformat(timing["completed_at"].rstrip("Z")),
                    ))
    # The union of the models' execution intervals: wall time during which at
    # least one model was running (dbt runs two at once).
    busy, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            busy += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            busy += (stop - end).total_seconds()
            end = stop
    return {"statuses": dict(sorted(statuses.items())), "model_busy_seconds": round(busy, 2)}


def run_tier(tier: str, regenerate: bool, with_make_run: bool) -> dict[str, Any]:
    run = TierRun(tier, TIERS[tier])
    try:
        run_stages(run, regenerate, with_make_run)
    except StageFailed as failed:
        run.problems.append(f"the tier stopped after {failed} failed; later stages did not run")
    manifest = run.landing / GENERATION_MANIFEST
    return {
        "tier": tier,
        "accounts": run.accounts,
        "months": MONTHS,
        "as_of_date": AS_OF_DATE.isoformat(),
        "generated_rows": (
            json.loads(manifest.read_text())["row_counts"] if manifest.is_file() else {}
        ),
        "duckdb_limits": run.limits,
        "stages": run.stages,
        "problems": run.problems,
    }


def run_stages(run: TierRun, regenerate: bool, with_make_run: bool) -> None:
    run.root.mkdir(parents=True, exist_ok=True)
    print(
        f"\n== tier {run.tier}: {run.accounts:,} accounts, {MONTHS} months to {AS_OF_DATE}",
        flush=True,
    )
    config = generator_config(run.accounts, EVENT_INTENSITY[run.tier])

    if regenerate or not _is_cached(run.landing, config):
        run.stage("generate", "--config", json.dumps(config), "--landing", str(run.landing))
    else:
        print("  generate           cached", flush=True)
        run.stages["generate"] = {"cached": True}

    # A fresh warehouse, sandbox and baseline every run: a full build from raw.
    for path in (run.warehouse, run.baseline, run.root / "crm_sandbox.sqlite"):
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)
    shutil.rmtree(run.root / "daily_landing", ignore_errors=True)

    run.stage("load")
    shutil.copyfile(run.warehouse, run.baseline)
    run.dbt("build", ["build"], run.warehouse, AS_OF_DATE)
    run.stage("counts", "--target", str(run.root / "target_build"))
    run.stage("gx", "--gx-dir", str(run.root / "gx"))
    run.stage("crm", "--sandbox", str(run.root / "crm_sandbox.sqlite"))

    # The daily run: the next day's events land and load, the as-of date moves
    # on a day, and dbt builds without --full-refresh.
    next_as_of = AS_OF_DATE + dt.timedelta(days=1)
    run.stage(
        "daily_load", "--day", AS_OF_DATE.isoformat(), "--landing", str(run.landing),
        "--daily-landing", str(run.root / "daily_landing"),
        worker="append_day", env=run.env(run.warehouse, next_as_of),
    )
    run.dbt("daily_build", ["build"], run.warehouse, next_as_of)

    # The baseline compiles against the raw-only copy, so every relation name
    # points at it and no model compiles as an incremental.
    run.dbt("baseline_compile", ["compile", "--full-refresh"], run.baseline, AS_OF_DATE)
    run.stage(
        "baseline", "--target", str(run.root / "target_baseline_compile"),
        env=run.env(run.baseline),
    )
    if with_make_run:
        make_run(run)


def make_run(run: TierRun) -> None:
    """The whole ``make run`` (the Dagster job) on the tier's data, on a fresh warehouse."""
    warehouse = run.root / "make_run.duckdb"
    warehouse.unlink(missing_ok=True)
    home = run.root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = run.env(warehouse)
    env["CS_CRM_SANDBOX_PATH"] = str(run.root / "make_run_crm.sqlite")
    Path(env["CS_CRM_SANDBOX_PATH"]).unlink(missing_ok=True)
    measured = run_measured(
        [sys.executable, "-m", "orchestration.run"], env, PROJECT_DIR,
        run.logs / "make_run.log",
    )
    run._record("make_run", measured, {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiers", default=",".join(DEFAULT_TIERS),
        help=f"comma-separated, of {', '.join(f'{k} ({v:,} accounts)' for k, v in TIERS.items())}"
             " (default: %(default)s)",
    )
    parser.add_argument("--regenerate", action="store_true",
                        help="generate the landing data even when a cached copy matches")
    parser.add_argument("--no-make-run", action="store_true",
                        help="skip timing the whole `make run` on the small tier")
    args = parser.parse_args(argv)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in TIERS]
    if unknown:
        parser.error(f"unknown tier(s) {', '.join(unknown)}; choose from {', '.join(TIERS)}")

    machine = machine_info()
    print(
        f"Machine: {machine['cores']} cores, {machine['memory_bytes'] / 2**30:.1f} GiB, "
        f"Python {machine['python']}, DuckDB {machine['duckdb']}, dbt {machine['dbt']}"
    )
    results = {}
    for tier in tiers:
        tier_result = run_tier(tier, args.regenerate, tier == "small" and not args.no_make_run)
        tier_result["targets"] = evaluate_targets(tier_result)
        tier_result["machine"] = machine
        tier_result["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results[tier] = tier_result
        print()
        print(tier_table(tier_result))
    write_results(RESULTS_DIR, results)
    print(f"\nResults merged into {RESULTS_DIR / 'results.json'} and results.md")
    failed = [p for r in results.values() for p in r["problems"]]
    for problem in failed:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
