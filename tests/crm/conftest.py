"""Shared CRM fixture: an embedded HubSpot-compatible sandbox on a free loopback port.

Every CRM test (sandbox, client, engine, Dagster assets) talks to a real HTTP server
rather than a mock, so retries, 207 parsing and rate limiting are exercised end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.crm.sandbox import SANDBOX_TOKEN, SandboxServer


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
