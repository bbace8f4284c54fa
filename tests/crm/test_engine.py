"""The sync engine against the sandbox on a real loopback server.

Covers what the reverse ETL promises: a first run creates the properties and
writes every record; a second run over the same rows sends nothing; one
changed account sends one record; a 429 storm loses and duplicates nothing;
bad records are rejected one by one while their batch lands; a run that dies
resumes without duplicates; a dry run writes nothing; the token never leaks.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from orchestration.crm.client import HubSpotClient, HubSpotError
from orchestration.crm.engine import build_properties, cast_value, sync_companies, sync_tasks
from orchestration.crm.mapping import CrmMapping, FieldMapping, ObjectMapping

PROJECT_DIR = Path(__file__).resolve().parents[2]

MAPPING = CrmMapping(
    property_group_name="customer_success",
    property_group_label="Customer Success (warehouse)",
    companies=ObjectMapping(
        object_type="companies",
        key_column="account_id",
        fields=(
            FieldMapping("health_score", "cs_health_score", "number", "number",
                         "Health score", "0-100", "clear"),
            FieldMapping("health_band", "cs_health_band", "string", "text",
                         "Health band", "green/yellow/red", "clear"),
            FieldMapping("mrr", "cs_mrr", "number", "number", "MRR", "Monthly revenue", "skip"),
            FieldMapping("renewal_date", "cs_renewal_date", "date", "date",
                         "Renewal", "Next renewal", "clear"),
            FieldMapping("computed_at", "cs_computed_at", "datetime", "date",
                         "As of", "When computed", "skip"),
        ),
    ),
    tasks=ObjectMapping(
        object_type="tasks",
        key_column="task_key",
        fields=(
            FieldMapping("task_key", "cs_task_key", "string", "text", "Key", "Task key"),
            FieldMapping("task_subject", "hs_task_subject", "string", "text", "Title", "t"),
            FieldMapping("task_status", "hs_task_status", "enumeration", "select", "Status", "s"),
            FieldMapping("task_priority", "hs_task_priority", "enumeration", "select", "P", "p"),
            FieldMapping("task_type", "hs_task_type", "enumeration", "select", "Type", "t"),
            FieldMapping("due_at", "hs_timestamp", "datetime", "date", "Due", "d"),
        ),
    ),
)
COMPUTED_AT = dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC)


def company_rows(n: int, start: int = 1) -> list[dict]:
    return [
        {
            "account_id": str(1000 + i),
            "health_score": round(40 + (i % 60) + 0.5, 1),
            "health_band": "green" if i % 3 else "red",
            "mrr": 100 * i,
            "renewal_date": dt.date(2027, 1 + i % 12, 1),
            "computed_at": COMPUTED_AT,
        }
        for i in range(start, start + n)
    ]


def task_rows(n: int, company: str = "1001") -> list[dict]:
    return [
        {
            "task_key": f"rescue:{company}:{i}",
            "account_id": company,
            "task_subject": f"Rescue call {i}",
            "task_status": "NOT_STARTED",
            "task_priority": "HIGH",
            "task_type": "CALL",
            "due_at": dt.datetime(2026, 7, 3, tzinfo=dt.UTC),
        }
        for i in range(n)
    ]


def seed(sandbox, rows: list[dict]) -> None:
    sandbox.seed_companies([{"id": r["account_id"], "properties": {}} for r in rows])


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def make_client(sandbox, **kwargs) -> HubSpotClient:
    options = dict(
        requests_per_interval=1000, interval_seconds=1, timeout_seconds=1,
        max_retries=8, max_backoff_seconds=1,
    )
    options.update(kwargs)
    return HubSpotClient(sandbox.base_url, sandbox.token, **options)


@pytest.fixture
def client(sandbox_server):
    with make_client(sandbox_server) as crm:
        yield crm


def writes(sandbox, since: int = 0) -> list[tuple[str, int]]:
    """(path, records) of every write request the sandbox received after `since`."""
    return [
        (path, n)
        for method, path, n in sandbox.request_log[since:]
        if method == "POST" and not path.endswith(("/batch/read", "/search"))
    ]


def batch_writes(sandbox, since: int = 0) -> list[tuple[str, int]]:
    return [(p, n) for p, n in writes(sandbox, since) if "/objects/" in p]


# ------------------------------------------------------------------ pure helpers


def test_cast_value_and_null_policy():
    assert cast_value(71.50, "number") == "71.5"
    assert cast_value(100.0, "number") == "100"
    assert cast_value(float("nan"), "number") is None
    assert cast_value(dt.date(2027, 1, 1), "date") == "2027-01-01"
    assert cast_value(dt.datetime(2026, 6, 30, 8, 0), "datetime") == "2026-06-30T08:00:00Z"
    assert cast_value(True, "bool") == "true"
    with pytest.raises(ValueError):
        cast_value("n/a", "number")
    props = build_properties(
        {"health_score": None, "health_band": "red", "mrr": None, "renewal_date": None,
         "computed_at": COMPUTED_AT},
        MAPPING.companies.fields,
    )
    # clear sends "" (empties the CRM value); skip leaves the property out.
    assert props == {"cs_health_score": "", "cs_health_band": "red", "cs_renewal_date": "",
                     "cs_computed_at": "2026-06-30T06:00:00Z"}


# --------------------------------------------------------------------- companies


def test_first_sync_creates_properties_and_records(con, client, sandbox_server):
    rows = company_rows(250)
    seed(sandbox_server, rows)
    result = sync_companies(con, client, MAPPING, rows)

    assert sorted(result.created_properties) == sorted(f.property for f in MAPPING.companies.fields)
    assert (result.added, result.changed, result.unchanged, result.rejected) == (250, 0, 0, 0)
    assert result.status == "success"
    assert batch_writes(sandbox_server) == [("/crm/v3/objects/companies/batch/update", 100)] * 2 + [
        ("/crm/v3/objects/companies/batch/update", 50)
    ]
    stored = sandbox_server.company("1007")
    assert stored["cs_health_score"] == "47.5"
    assert stored["cs_renewal_date"] == "2027-08-01"
    assert stored["cs_computed_at"].startswith("2026-06-30T06:00:00")
    assert result.readback_checked == 100 and result.readback_mismatches == 0
    run = con.execute(
        "select mode, status, rows_in, added, rejected, requests, readback_checked "
        "from crm_sync.sync_runs"
    ).fetchall()
    assert run == [("upsert", "success", 250, 250, 0, result.requests, 100)]
    assert con.execute("select count(*) from crm_sync.company_state").fetchone()[0] == 250


def test_second_sync_sends_nothing_and_one_change_sends_one(con, client, sandbox_server):
    rows = company_rows(150)
    seed(sandbox_server, rows)
    sync_companies(con, client, MAPPING, rows)

    mark = len(sandbox_server.request_log)
    again = sync_companies(con, client, MAPPING, rows)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 150)
    assert writes(sandbox_server, mark) == []  # not even a property create

    rows[42]["health_score"] = 12.0
    mark = len(sandbox_server.request_log)
    changed = sync_companies(con, client, MAPPING, rows)
    assert (changed.added, changed.changed, changed.unchanged) == (0, 1, 149)
    assert writes(sandbox_server, mark) == [("/crm/v3/objects/companies/batch/update", 1)]
    assert sandbox_server.company(rows[42]["account_id"])["cs_health_score"] == "12"


def test_full_resync_resends_everything(con, client, sandbox_server):
    rows = company_rows(120)
    seed(sandbox_server, rows)
    sync_companies(con, client, MAPPING, rows)
    mark = len(sandbox_server.request_log)
    result = sync_companies(con, client, MAPPING, rows, full_resync=True)
    assert (result.added, result.changed, result.unchanged) == (0, 120, 0)
    assert [n for _, n in batch_writes(sandbox_server, mark)] == [100, 20]


def test_readback_catches_a_write_that_did_not_stick(con, client, sandbox_server):
    """A value changed behind the sync's back between write and read-back is reported."""
    rows = company_rows(10)
    seed(sandbox_server, rows)

    def overwrite(stage: str, index: int) -> None:
        if stage == "committed":
            sandbox_server.seed_companies([{"id": "1003", "properties": {"cs_mrr": "1"}}])

    result = sync_companies(con, client, MAPPING, rows, on_batch=overwrite)
    assert (result.readback_checked, result.readback_mismatches) == (10, 1)
    assert result.status == "partial"
    found = con.execute(
        "select record_id, error from crm_sync.sync_rejections where operation = 'readback'"
    ).fetchall()
    assert found == [("1003", "cs_mrr: sent '300', read '1'")]


def test_null_policy_keeps_or_clears_crm_values(con, client, sandbox_server):
    rows = company_rows(1)
    seed(sandbox_server, rows)
    sync_companies(con, client, MAPPING, rows)
    rows[0].update(mrr=None, health_score=None)
    sync_companies(con, client, MAPPING, rows)
    stored = sandbox_server.company(rows[0]["account_id"])
    assert stored["cs_mrr"] == "100"  # skip: a null never overwrites
    assert stored["cs_health_score"] == ""  # clear: emptied


def test_two_invalid_records_do_not_stop_the_other_98(con, client, sandbox_server):
    rows = company_rows(100)
    seed(sandbox_server, rows[:99])  # the last account is unknown to the CRM
    rows[10]["health_score"] = "not a number"  # caught locally, never sent
    result = sync_companies(con, client, MAPPING, rows)

    assert batch_writes(sandbox_server) == [("/crm/v3/objects/companies/batch/update", 99)]
    assert (result.added, result.rejected, result.status) == (98, 2, "partial")
    rejections = con.execute(
        "select record_id, operation, error from crm_sync.sync_rejections order by operation"
    ).fetchall()
    assert [(r[0], r[1]) for r in rejections] == [("1100", "update"), ("1011", "validate")]
    assert "OBJECT_NOT_FOUND" in rejections[0][2]
    assert "health_score" in rejections[1][2]
    assert con.execute("select count(*) from crm_sync.company_state").fetchone()[0] == 98

    # Fixed upstream, the two are sent on the next run (and only they are).
    seed(sandbox_server, rows[99:])
    rows[10]["health_score"] = 50
    mark = len(sandbox_server.request_log)
    retry = sync_companies(con, client, MAPPING, rows)
    assert (retry.added, retry.rejected) == (2, 0)
    assert batch_writes(sandbox_server, mark) == [("/crm/v3/objects/companies/batch/update", 2)]


def test_crm_side_invalid_values_are_rejected_per_record(con, client, sandbox_server):
    """A value the CRM refuses (here: a renewal date that is not midnight UTC) is one 207 error."""
    rows = company_rows(100)
    seed(sandbox_server, rows)
    bad = [dict(row) for row in rows]
    mapping = CrmMapping(
        MAPPING.property_group_name, MAPPING.property_group_label,
        ObjectMapping("companies", "account_id", MAPPING.companies.fields + (
            FieldMapping("note_when", "cs_renewal_date", "datetime", "date", "x", "x"),
        )),
        MAPPING.tasks,
    )
    for i, row in enumerate(bad):
        row["note_when"] = dt.datetime(2027, 1, 1, 12 if i in (3, 4) else 0, tzinfo=dt.UTC)
        row["renewal_date"] = None
    sync_companies(con, client, MAPPING, rows)  # creates the properties
    result = sync_companies(con, client, mapping, bad, ensure_properties=False)
    assert (result.changed, result.rejected) == (98, 2)
    rejected = {r.record_id for r in result.rejections}
    assert rejected == {bad[3]["account_id"], bad[4]["account_id"]}


def test_429_storm_is_ridden_out_without_loss(con, sandbox_server):
    """The sandbox allows 6 requests per second; the client expects 1000 and must cope."""
    rows = company_rows(400)
    seed(sandbox_server, rows)
    sandbox_server.set_rate_limit(6, 1)
    # Adapting to the headers would end the storm after one 429; keep the
    # client at its configured pace so batch after batch meets the storm.
    with make_client(sandbox_server, max_retries=12, adapt_to_server_limits=False) as crm:
        result = sync_companies(con, crm, MAPPING, rows, readback_sample=20)
        assert crm.stats.rate_limited >= 2
    assert (result.added, result.rejected, result.readback_mismatches) == (400, 0, 0)
    assert len(sandbox_server.companies()) == 400
    assert 429 in [status for *_, status in sandbox_server.response_log]
    # Every batch landed exactly once: one accepted update per batch.
    accepted = [n for _, p, n, s in sandbox_server.response_log
                if s == 200 and p.endswith("batch/update")]
    assert accepted == [100] * 4


def test_faults_and_lost_responses_do_not_duplicate_tasks(con, sandbox_server):
    seed(sandbox_server, company_rows(1))
    rows = task_rows(150)
    with make_client(sandbox_server, timeout_seconds=0.5) as crm:
        sync_tasks(con, crm, MAPPING, rows[:1])  # creates cs_task_key first
        sandbox_server.inject_faults(status_5xx=1, timeouts=1, timeout_seconds=0.8,
                                     path_contains="batch/create")
        # The first create is applied but its answer is lost: the retry must not duplicate.
        sandbox_server.inject_faults(drops=1, apply_before_drop=True,
                                     path_contains="batch/create")
        result = sync_tasks(con, crm, MAPPING, rows)
        assert crm.stats.server_errors == 1 and crm.stats.transport_errors == 2
    assert (result.added, result.unchanged, result.rejected) == (149, 1, 0)
    statuses = [s for _, p, _, s in sandbox_server.response_log if p.endswith("batch/create")]
    assert 207 in statuses  # the retried create met the keys it had already written
    keys = [t["properties"]["cs_task_key"] for t in sandbox_server.tasks()]
    assert sorted(keys) == sorted(r["task_key"] for r in rows)


# ------------------------------------------------------------------------ tasks


def test_tasks_create_update_and_update_only(con, client, sandbox_server):
    seed(sandbox_server, company_rows(1))
    rows = task_rows(120)
    first = sync_tasks(con, client, MAPPING, rows)
    assert "cs_task_key" in first.created_properties
    assert (first.added, first.rejected, first.readback_mismatches) == (120, 0, 0)
    task = sandbox_server.task_by_key(rows[0]["task_key"])
    assert task["associations"]["companies"] == ["1001"]
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"

    mark = len(sandbox_server.request_log)
    assert sync_tasks(con, client, MAPPING, rows).unchanged == 120
    assert writes(sandbox_server, mark) == []

    rows[5]["task_status"] = "COMPLETED"
    new = task_rows(122)[120:]
    mark = len(sandbox_server.request_log)
    result = sync_tasks(con, client, MAPPING, rows + new, mode="update_only")
    assert (result.changed, result.added, result.skipped) == (1, 0, 2)
    assert batch_writes(sandbox_server, mark) == [("/crm/v3/objects/tasks/batch/update", 1)]
    assert sandbox_server.task_by_key(rows[5]["task_key"])["properties"]["hs_task_status"] == (
        "COMPLETED"
    )
    assert len(sandbox_server.tasks()) == 120


def test_task_without_company_or_bad_option_is_rejected(con, client, sandbox_server):
    seed(sandbox_server, company_rows(1))
    rows = task_rows(5)
    rows[1]["account_id"] = None
    rows[2]["task_priority"] = "URGENT"  # not an option of hs_task_priority
    result = sync_tasks(con, client, MAPPING, rows)
    assert (result.added, result.rejected) == (3, 2)
    by_key = {r.record_id: r for r in result.rejections}
    assert by_key[rows[1]["task_key"]].operation == "validate"
    assert by_key[rows[2]["task_key"]].operation == "create"
    assert "URGENT" in by_key[rows[2]["task_key"]].error


# ------------------------------------------------------------------ crash/resume


class Crash(Exception):
    pass


def test_company_run_killed_after_two_batches_resumes(con, client, sandbox_server):
    rows = company_rows(500)
    seed(sandbox_server, rows)

    def die_after_two(stage: str, index: int) -> None:
        if stage == "committed" and index == 1:
            raise Crash

    with pytest.raises(Crash):
        sync_companies(con, client, MAPPING, rows, on_batch=die_after_two)
    assert con.execute("select count(*) from crm_sync.company_state").fetchone()[0] == 200
    assert con.execute("select status from crm_sync.sync_runs").fetchone()[0] == "failed"

    mark = len(sandbox_server.request_log)
    resumed = sync_companies(con, client, MAPPING, rows)
    assert (resumed.added, resumed.unchanged) == (300, 200)
    assert [n for _, n in batch_writes(sandbox_server, mark)] == [100, 100, 100]


_CHILD = textwrap.dedent(
    """
    import os, pickle, sys
    import duckdb
    from orchestration.crm.client import HubSpotClient
    from orchestration.crm.engine import sync_tasks

    mapping, rows, base_url, token, db = pickle.load(open(sys.argv[1], "rb"))

    def die(stage, index):
        # The CRM has created batch 1's tasks; the process dies before recording them.
        if stage == "sent" and index == 1:
            os._exit(17)

    con = duckdb.connect(db)
    client = HubSpotClient(base_url, token, requests_per_interval=1000, interval_seconds=1)
    sync_tasks(con, client, mapping, rows, batch_size=50, on_batch=die)
    """
)


def test_task_run_killed_mid_batch_resumes_without_duplicates(tmp_path, sandbox_server):
    """A process that dies after the CRM created a batch, before the state write, loses nothing."""
    seed(sandbox_server, company_rows(1))
    rows = task_rows(170)
    db = tmp_path / "child.duckdb"
    args = tmp_path / "args.pkl"
    args.write_bytes(pickle.dumps(
        (MAPPING, rows, sandbox_server.base_url, sandbox_server.token, str(db))
    ))
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(args)], cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 17, child.stderr
    assert len(sandbox_server.tasks()) == 100  # two batches of 50 reached the CRM

    with duckdb.connect(str(db)) as con, make_client(sandbox_server) as crm:
        assert con.execute("select count(*) from crm_sync.task_state").fetchone()[0] == 50
        mark = len(sandbox_server.request_log)
        resumed = sync_tasks(con, crm, MAPPING, rows, batch_size=50)
        assert (resumed.added, resumed.unchanged, resumed.rejected) == (120, 50, 0)
        # Batch 1 was found by cs_task_key and adopted: only 70 tasks were created.
        created = [n for p, n in batch_writes(sandbox_server, mark) if p.endswith("create")]
        assert created == [50, 20]
        assert con.execute("select count(*) from crm_sync.task_state").fetchone()[0] == 170
    keys = [t["properties"]["cs_task_key"] for t in sandbox_server.tasks()]
    assert len(keys) == len(set(keys)) == 170


# --------------------------------------------------------------------- dry run


def test_dry_run_writes_nothing(con, client, sandbox_server):
    rows = company_rows(120)
    seed(sandbox_server, rows)
    sync_companies(con, client, MAPPING, rows[:100])
    rows[0]["health_score"] = 1
    rows[1]["health_score"] = "oops"
    mark = len(sandbox_server.request_log)
    before = sandbox_server.companies()

    result = sync_companies(con, client, MAPPING, rows, mode="dry_run")
    assert (result.added, result.changed, result.unchanged, result.rejected) == (20, 1, 98, 1)
    assert sandbox_server.request_log[mark:] == []
    assert sandbox_server.companies() == before
    assert con.execute("select count(*) from crm_sync.company_state").fetchone()[0] == 100
    modes = con.execute("select mode from crm_sync.sync_runs order by started_at").fetchall()
    assert modes == [("upsert",), ("dry_run",)]
    # No client at all is fine for a dry run (the blocking check uses it that way).
    tasks = sync_tasks(con, None, MAPPING, task_rows(3), mode="dry_run")
    assert tasks.added == 3 and sandbox_server.tasks() == []


# --------------------------------------------------------------------- secrets


def test_token_never_appears_in_logs_or_errors(con, sandbox_server, caplog):
    caplog.set_level(logging.DEBUG)
    rows = company_rows(30)
    seed(sandbox_server, rows)
    sandbox_server.inject_faults(status_5xx=2, drops=1)
    with make_client(sandbox_server) as crm:
        result = sync_companies(con, crm, MAPPING, rows)
        assert result.added == 30
        assert sandbox_server.token not in repr(crm)
        assert sandbox_server.token not in str(result.as_metadata())

    wrong = "pat-na1-00000000-wrong"
    with HubSpotClient(sandbox_server.base_url, wrong, timeout_seconds=1) as crm:
        with pytest.raises(HubSpotError) as info:
            sync_companies(con, crm, MAPPING, rows)
    errors = con.execute("select error from crm_sync.sync_runs where status = 'failed'").fetchall()
    assert errors and "401" in errors[0][0]
    for text in (caplog.text, str(info.value), repr(info.value), errors[0][0]):
        assert sandbox_server.token not in text
        assert wrong not in text
