"""One benchmark stage per process: ``python -m orchestration.bench.stages <stage> --out F``.

The harness (``orchestration.bench.__main__``) starts each stage in its own
process so the peak memory of that stage alone can be measured. A stage reads
its warehouse, landing folder, as-of date and DuckDB limits from the
environment like every other entry point (``orchestration.settings``), does
the pipeline's real work through the project's own code, and writes what it
did (row counts, outcomes) as JSON to ``--out``. Command-line entry point:
it reports through that file and its exit code, not through logs.
"""

import argparse
import dataclasses
import datetime as dt
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

from orchestration.resources import WarehouseResource, connect_duckdb
from orchestration.settings import load_settings

EVENTS_TABLE = ("segment", "tracks")
# The columns of a tracks row that hold instants: shifted together when the
# next day of events is made from the last one.
EVENT_TIME_COLUMNS = ("timestamp", "sent_at", "received_at", "original_timestamp")
_DAY_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")

logger = logging.getLogger("orchestration.bench")


def _warehouse() -> WarehouseResource:
    return WarehouseResource.from_settings(load_settings())


def stage_generate(args: argparse.Namespace) -> dict[str, Any]:
    from orchestration.demo_data.generator import GeneratorConfig, generate

    fields = json.loads(args.config)
    fields["as_of_date"] = dt.date.fromisoformat(fields["as_of_date"])
    config = GeneratorConfig(**fields)
    manifest = generate(config, Path(args.landing))
    return {"row_counts": manifest["row_counts"]}


def stage_load(args: argparse.Namespace) -> dict[str, Any]:
    """Every landing file of every source through the loader, as the raw assets do."""
    from orchestration.ingest.contracts import load_contracts
    from orchestration.ingest.loader import load_source

    settings = load_settings()
    tables: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    with _warehouse().connect() as con:
        for source in load_contracts().values():
            report = load_source(con, source, settings.landing_dir)
            failures += [f.error or f.file for f in report.failures]
            for table in source.tables:
                tables[f"{source.name}.{table.table}"] = {
                    "loaded": report.rows_loaded(table.table),
                    "quarantined": report.rows_quarantined(table.table),
                }
    return {"tables": tables, "failures": failures}


def stage_counts(args: argparse.Namespace) -> dict[str, Any]:
    """Row counts of the tables dbt built (not timed: compared with the baseline's)."""
    from orchestration.bench.baseline import BUILT_MATERIALIZATIONS, load_manifest

    manifest = load_manifest(Path(args.target))
    counts = {}
    with _warehouse().connect() as con:
        for node in manifest["nodes"].values():
            if node["resource_type"] != "model":
                continue
            if node["config"]["materialized"] not in BUILT_MATERIALIZATIONS[1:]:
                continue
            relation = f'"{node["schema"]}"."{node["alias"]}"'
            (count,) = con.execute(f"select count(*) from {relation}").fetchone()
            counts[f"{node['schema']}.{node['alias']}"] = int(count)
    return {"row_counts": counts}


def stage_gx(args: argparse.Namespace) -> dict[str, Any]:
    """Every batch of every GX suite, validated as the Dagster checks do.

    Data Docs are rendered once, after the last batch; the Dagster job renders
    them once per suite step, so this stage is a little cheaper than the job.
    """
    from orchestration.quality.gx_suites import load_suites, run_batches

    settings = load_settings()
    batches = [b for suite in load_suites() for b in suite.batches]
    with _warehouse().connect() as con:
        outcomes = run_batches(con, batches, settings.as_of_date.isoformat(), Path(args.gx_dir))
    return {
        "batches": len(outcomes),
        "rows_validated": sum(o.row_count for o in outcomes),
        "expectations": sum(len(o.outcomes) for o in outcomes),
        "failed": [
            f"{o.batch.check_name}: {f.summary}" for o in outcomes for f in o.failed
        ],
    }


def stage_crm(args: argparse.Namespace) -> dict[str, Any]:
    """Both pushes to the sandbox, each after its blocking dry run, as the Dagster assets do."""
    from orchestration.crm.engine import sync_companies, sync_tasks
    from orchestration.crm.mapping import DEFAULT_MAPPING_PATH, load_mapping
    from orchestration.defs.crm import (
        COMPANY_SYNC_MODEL,
        TASK_SYNC_MODEL,
        CrmResource,
        read_sync_rows,
    )

    settings = load_settings()
    crm = CrmResource.from_settings(settings, sandbox_db_path=Path(args.sandbox))
    mapping = load_mapping(DEFAULT_MAPPING_PATH)
    results = {}
    with _warehouse().connect() as con:
        for name, model, sync in (
            ("companies", COMPANY_SYNC_MODEL, sync_companies),
            ("tasks", TASK_SYNC_MODEL, sync_tasks),
        ):
            rows = read_sync_rows(con, model, mapping)
            dry_run = sync(con, None, mapping, rows, "dry_run")
            with crm.session(con, logger) as client:
                result = sync(con, client, mapping, rows, crm.sync_mode)
            results[name] = {
                "rows_in": result.rows_in,
                "dry_run_rejected": dry_run.rejected,
                "added": result.added,
                "changed": result.changed,
                "rejected": result.rejected,
                "requests": result.requests,
                "status": result.status,
            }
    return results


def _events_file_template(landing_dir: Path) -> tuple[str, str]:
    """Where the landing folder keeps events, as (relative path of the newest file, its day).

    The next day's file is written beside a copy of that layout, so it reaches
    the loader in the same format (CSV or Parquet, one file per day or month).
    """
    folder = landing_dir.joinpath(*EVENTS_TABLE)
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(("_", "."))
    )
    if not files:
        raise RuntimeError(f"no event files under {folder}")
    newest = files[-1].relative_to(landing_dir).as_posix()
    day = _DAY_IN_NAME.findall(newest)
    return newest, (day[-1] if day else "")


def stage_append_day(args: argparse.Namespace) -> dict[str, Any]:
    """Land one more day of events and load it: the raw half of a daily run.

    The new day copies the last full day's events one day later, with new
    message ids, so its volume and mix (late events, unknown users and
    duplicates included) match the tier. It lands in a folder of its own, so
    the cached landing folder of the tier stays as generated, and goes
    through the loader like any delivery.
    """
    from orchestration.ingest.contracts import load_contracts
    from orchestration.ingest.loader import load_source

    settings = load_settings()
    new_day = dt.date.fromisoformat(args.day)
    last_day = new_day - dt.timedelta(days=1)
    source = load_contracts()[EVENTS_TABLE[0]]
    contract = next(t for t in source.tables if t.table == EVENTS_TABLE[1])
    landed_dir = Path(args.daily_landing)
    newest, newest_day = _events_file_template(Path(args.landing))
    name = newest.replace(newest_day, new_day.isoformat()) if newest_day else (
        f"{EVENTS_TABLE[0]}/{EVENTS_TABLE[1]}/{new_day.isoformat()}.csv"
    )
    target = landed_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fmt = "parquet" if target.suffix == ".parquet" else "csv"

    config = _warehouse().duckdb_config()
    columns = [c.name for c in contract.columns]
    shifted = [
        f"{_q(c)} + interval 1 day as {_q(c)}" if c in EVENT_TIME_COLUMNS
        else f"{_q(c)} || '-next' as {_q(c)}" if c == contract.primary_key[0]
        else _q(c)
        for c in columns
    ]
    clock = time.perf_counter()
    con = connect_duckdb(settings.duckdb_path, config)
    try:
        con.execute(
            f"""
            copy (
                select {', '.join(shifted)}
                from {EVENTS_TABLE[0]}.{EVENTS_TABLE[1]}
                where cast("timestamp" as date) = ?
            ) to '{target}' (format {fmt})
            """,
            [last_day],
        )
        written = time.perf_counter() - clock
        report = load_source(con, source, landed_dir, tables=[EVENTS_TABLE[1]])
    finally:
        con.close()
    return {
        "file": str(target),
        "write_seconds": written,
        "loaded": report.rows_loaded(),
        "quarantined": report.rows_quarantined(),
        "failures": [f.error or f.file for f in report.failures],
    }


def stage_baseline(args: argparse.Namespace) -> dict[str, Any]:
    from orchestration.bench.baseline import load_manifest, run_baseline

    settings = load_settings()
    con = connect_duckdb(settings.duckdb_path, _warehouse().duckdb_config())
    try:
        result = run_baseline(con, load_manifest(Path(args.target)))
    finally:
        con.close()
    return dataclasses.asdict(result)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


STAGES = {
    "generate": stage_generate,
    "load": stage_load,
    "counts": stage_counts,
    "gx": stage_gx,
    "crm": stage_crm,
    "append_day": stage_append_day,
    "baseline": stage_baseline,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", help="generate: the GeneratorConfig as JSON")
    parser.add_argument("--landing", help="generate, append_day: the tier's landing folder")
    parser.add_argument("--target", help="counts, baseline: dbt target folder with a manifest")
    parser.add_argument("--gx-dir", help="gx: where GX keeps results and Data Docs")
    parser.add_argument("--sandbox", help="crm: the sandbox's SQLite file")
    parser.add_argument("--day", help="append_day: the day to land (YYYY-MM-DD)")
    parser.add_argument("--daily-landing", help="append_day: the folder it lands in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    result = STAGES[args.stage](args)
    result["stage_seconds"] = time.perf_counter() - started
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
