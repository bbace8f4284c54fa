"""Shared CRM fixtures: an embedded HubSpot-compatible sandbox on a free loopback
port, a never-synced copy of the session's built warehouse, and a CRM resource
pointing at the sandbox.

Every CRM test (sandbox, client, engine, Dagster assets) talks to a real HTTP server
rather than a mock, so retries, 207 parsing and rate limiting are exercised end to end.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.crm.sandbox import SANDBOX_TOKEN, SandboxServer
from orchestration.defs.crm import CrmResource, sandbox_seed_records
from orchestration.resources import WarehouseResource


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[SandboxServer]:
    """Start a fresh sandbox (temp SQLite file, token "sandbox-token") and stop it after.

    The yielded `SandboxServer` offers `.base_url`, `.token`, `.db_path`,
    `.set_rate_limit(max_requests, interval_seconds)`, `.inject_faults(status_5xx=,
    timeouts=, drops=, apply_before_drop=, timeout_seconds=)`, `.reset()`,
    `.request_log` (list of (method, path, n_records)), `.response_log`
    (list of (method, path, n_records, status)), `.seed_companies([...])`,
    `.companies()`, `.tasks()`, `.company(id)` and `.task_by_key(key)`.
    """
    server = SandboxServer(tmp_path / "crm_sandbox.sqlite", port=0, token=SANDBOX_TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def warehouse(built_warehouse, tmp_path) -> WarehouseResource:
    """A private copy of the built warehouse that has never been synced."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse.duckdb_path, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("drop schema if exists crm_sync cascade")
    return WarehouseResource(
        duckdb_path=str(copy),
        landing_dir=str(built_warehouse.landing_dir),
        as_of_date="2026-06-30",
    )


@pytest.fixture
def crm(sandbox_server, warehouse) -> CrmResource:
    """The shared sandbox fixture as if it were the real CRM, seeded like the portal."""
    with duckdb.connect(warehouse.duckdb_path, read_only=True) as con:
        sandbox_server.seed_companies(sandbox_seed_records(con))
    return CrmResource(
        base_url=sandbox_server.base_url,
        token=sandbox_server.token,
        sandbox_db_path=str(Path(warehouse.duckdb_path).parent / "unused.sqlite"),
        requests_per_interval=1000,
        interval_seconds=1.0,
        timeout_seconds=5.0,
        max_retries=2,
    )
