"""Benchmark: sync N synthetic accounts to the sandbox and compare throughput with the limit.

Why: the client paces itself below HubSpot's rolling limit; this shows how
close to the limit a full run gets (too far below wastes the window, above it
means 429s) and that a whole run lands without rejections.

    python -m orchestration.crm.bench --accounts 10000

Runs the sandbox in-process on a free loopback port with a temporary SQLite
file and a temporary DuckDB state, so it touches nothing else.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from orchestration.crm.client import HubSpotClient
from orchestration.crm.engine import sync_companies
from orchestration.crm.mapping import DEFAULT_MAPPING_PATH, load_mapping
from orchestration.crm.sandbox import SANDBOX_TOKEN, SandboxServer


class _TimedClient(HubSpotClient):
    """A client that records when each request left, to measure the busiest window."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_at: list[float] = []
        self._http.event_hooks["request"].append(lambda _: self.sent_at.append(time.monotonic()))


def _busiest_window(times: list[float], interval: float) -> int:
    return max(
        (bisect.bisect_left(times, start + interval) - i for i, start in enumerate(times)),
        default=0,
    )


def synthetic_rows(n: int, mapping_columns: list[str], key_column: str) -> list[dict[str, Any]]:
    """Rows with every mapped column, values plausible for the mapping's types."""
    computed = dt.datetime(2026, 6, 30, 6, tzinfo=dt.UTC)
    samples: dict[str, Any] = {
        "health_score": lambda i: round(30 + i % 70 + 0.25, 2),
        "health_band": lambda i: ("green", "yellow", "red")[i % 3],
        "health_trend_7d": lambda i: (i % 11) - 5,
        "health_reason": lambda i: "usage down; tickets up",
        "health_config_version": lambda i: "v1",
        "mrr": lambda i: 50 * (1 + i % 40),
        "renewal_date": lambda i: dt.date(2027, 1 + i % 12, 1),
        "lifecycle_stage": lambda i: "customer",
        "open_signal_types": lambda i: "rescue" if i % 5 == 0 else None,
        "open_task_count": lambda i: i % 3,
        "computed_at": lambda i: computed,
    }
    rows = []
    for i in range(n):
        row = {key_column: str(1_000_000_001 + i)}
        for column in mapping_columns:
            row[column] = samples[column](i) if column in samples else f"value {i}"
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--requests-per-interval", type=int, default=190)
    parser.add_argument("--interval-seconds", type=float, default=10.0)
    parser.add_argument("--mapping", type=Path, default=DEFAULT_MAPPING_PATH)
    args = parser.parse_args(argv)

    mapping = load_mapping(args.mapping)
    columns = [f.column for f in mapping.companies.fields]
    rows = synthetic_rows(args.accounts, columns, mapping.companies.key_column)
    with tempfile.TemporaryDirectory() as folder:
        server = SandboxServer(
            Path(folder) / "crm.sqlite",
            port=0,
            token=SANDBOX_TOKEN,
            max_requests=args.requests_per_interval,
            interval_seconds=args.interval_seconds,
        )
        base_url = server.start()
        try:
            server.seed_companies(
                [{"id": r[mapping.companies.key_column], "properties": {}} for r in rows]
            )
            con = duckdb.connect(str(Path(folder) / "state.duckdb"))
            with _TimedClient(
                base_url,
                SANDBOX_TOKEN,
                requests_per_interval=args.requests_per_interval,
                interval_seconds=args.interval_seconds,
            ) as client:
                started = time.monotonic()
                result = sync_companies(con, client, mapping, rows)
                elapsed = time.monotonic() - started
                steady = sync_companies(con, client, mapping, rows)
            con.close()
        finally:
            server.stop()

    # A rolling window admits at most `limit` requests per started window, so a
    # run shorter than one window may burst above the sustained rate.
    allowed = args.requests_per_interval * max(1, math.ceil(elapsed / args.interval_seconds))
    rate = result.requests / elapsed
    busiest = _busiest_window(client.sent_at, args.interval_seconds)
    print(f"accounts           {args.accounts}")
    print(f"limit              {args.requests_per_interval} requests / {args.interval_seconds:g} s")
    print(f"elapsed            {elapsed:.1f} s")
    print(f"requests           {result.requests} ({client.stats.rate_limited} answered 429)")
    print(f"records/s          {result.sent / elapsed:.0f}")
    sustained = args.requests_per_interval / args.interval_seconds
    print(
        f"throughput         {rate:.1f} requests/s = {rate / sustained:.0%} of the sustained "
        f"{sustained:g}/s (a run shorter than a window may burst above it)"
    )
    print(
        f"window use         {result.requests} of the {allowed} requests the rolling limit "
        f"allowed in that time = {result.requests / allowed:.0%}"
    )
    print(f"busiest window     {busiest} requests in {args.interval_seconds:g} s")
    print(
        f"result             added {result.added}, changed {result.changed}, "
        f"rejected {result.rejected}, read-back {result.readback_mismatches}"
        f"/{result.readback_checked} mismatched"
    )
    print(f"second run         {steady.sent} records sent, {steady.requests} requests")


if __name__ == "__main__":
    main()
