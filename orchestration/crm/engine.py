"""The reverse-ETL sync engine: warehouse rows to HubSpot companies and tasks.

What it guarantees, and why:

- Only new or changed rows are sent. Each row becomes the exact payload the
  CRM would receive; its hash is compared with the hash of the last payload
  the CRM *confirmed* (``crm_sync.company_state`` / ``crm_sync.task_state``).
  A second run over unchanged data sends nothing, and a row the CRM rejected
  is not in the state, so it is retried on the next run.
- State is written per batch, in one DuckDB transaction, right after the CRM
  confirms the batch. A run that dies resumes where it stopped: confirmed
  batches are not resent, and a batch whose answer was lost is either an
  idempotent update or a task create protected by ``cs_task_key`` (a
  unique-value property: existing keys are looked up with a search before
  creating, and a duplicate create comes back as ``OBJECT_ALREADY_EXISTS``).
- Rows that cannot be sent (no key, a value not castable to the property's
  type, a duplicate key) are rejected locally; rows the CRM refuses in a 207
  are rejected individually while the rest of their batch lands. Every
  rejection is a row in ``crm_sync.sync_rejections``; every run is a row in
  ``crm_sync.sync_runs`` with its counts.
- A null never overwrites a CRM value unless the field's ``null_policy`` is
  ``clear`` (then it is sent as the empty string, HubSpot's way to clear).
- After a run, a sample of the records it wrote is read back and compared
  value by value: a vendor that reports success for writes it never made is a
  known failure mode of reverse ETL. Mismatches are counted in the run and
  logged as rejections with operation ``readback``.

Modes: ``upsert`` (default), ``update_only`` and ``dry_run``. Companies are
keyed by their CRM id (the account id is the HubSpot company id), so the sync
never creates companies in either write mode: a company the CRM does not know
is rejected, because a new company would get a new id no account maps to.
Tasks are created in ``upsert`` and only updated in ``update_only`` (new tasks
are counted as skipped). ``dry_run`` reports what would be added, changed,
left alone and rejected, writes nothing to the CRM or to the state, and
records a ``sync_runs`` row with mode ``dry_run``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import logging
import numbers
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from orchestration.crm.client import (
    MAX_BATCH_SIZE,
    BatchOutcome,
    HubSpotClient,
    RecordError,
    company_association,
)

if TYPE_CHECKING:
    from orchestration.crm.mapping import CrmMapping, FieldMapping, ObjectMapping

log = logging.getLogger(__name__)

SCHEMA = "crm_sync"
MODES = ("upsert", "update_only", "dry_run")
TASK_KEY_PROPERTY = "cs_task_key"
# Properties HubSpot defines itself: the sync writes them but never creates them.
HUBSPOT_DEFINED_PREFIXES = ("hs_", "hubspot_")
DEFAULT_READBACK_SAMPLE = 100

# Called as hook(stage, batch_index) with stage "sent" (the CRM answered, state
# not yet written) or "committed" (state written). Tests use it to kill a run.
BatchHook = Callable[[str, int], None]

_DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.company_state (
    record_id varchar primary key,
    payload_hash varchar not null,
    payload json,
    confirmed_at timestamptz not null,
    run_id varchar
);
create table if not exists {SCHEMA}.task_state (
    task_key varchar primary key,
    crm_task_id varchar not null,
    payload_hash varchar not null,
    payload json,
    confirmed_at timestamptz not null,
    run_id varchar
);
create table if not exists {SCHEMA}.sync_runs (
    run_id varchar primary key,
    object_type varchar not null,
    mode varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    rows_in integer,
    added integer,
    changed integer,
    unchanged integer,
    rejected integer,
    requests integer,
    status varchar not null,
    readback_checked integer,
    readback_mismatches integer,
    skipped integer,
    error varchar
);
create table if not exists {SCHEMA}.sync_rejections (
    run_id varchar not null,
    object_type varchar not null,
    record_id varchar,
    operation varchar not null,
    payload json,
    error varchar not null,
    rejected_at timestamptz not null
);
"""


class InvalidValue(ValueError):
    """A warehouse value that cannot be expressed in the property's type."""


@dataclass(frozen=True)
class Rejection:
    """One record the run did not land, and why."""

    record_id: str | None
    operation: str  # validate | update | create | readback
    error: str
    payload: Mapping[str, Any] | None = None


@dataclass
class SyncResult:
    """Counts of one sync run, as stored in ``crm_sync.sync_runs``.

    ``added`` and ``changed`` count records the CRM confirmed (in a dry run:
    records that would be sent); ``rejected`` counts local and CRM rejections;
    ``skipped`` counts new tasks ``update_only`` did not create.
    """

    run_id: str
    object_type: str
    mode: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    rows_in: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    requests: int = 0
    status: str = "running"
    readback_checked: int = 0
    readback_mismatches: int = 0
    created_properties: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.added + self.changed

    def as_metadata(self) -> dict[str, Any]:
        """Plain counts for Dagster metadata (no payloads, nothing secret)."""
        data = asdict(self)
        data.pop("rejections")
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return data


@dataclass
class _Pending:
    """A valid row ready to send."""

    key: str
    properties: dict[str, str]
    payload_hash: str
    is_new: bool
    company_id: str | None = None  # tasks: the company to associate on create
    crm_task_id: str | None = None  # tasks: known id from the state


# ---------------------------------------------------------------- value casting


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return True  # pandas.NA refuses comparison


def _to_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return _to_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value) / 1000, tz=dt.UTC)
    text = str(value).strip()
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        return _to_utc(dt.datetime.fromisoformat(text))
    except ValueError as exc:
        raise InvalidValue(f"{text!r} is not a timestamp") from exc


def _format_number(value: Any) -> str:
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is a boolean, not a number")
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation as exc:
        raise InvalidValue(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number")
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _format_bool(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t", "y"):
        return "true"
    if text in ("false", "0", "no", "f", "n"):
        return "false"
    raise InvalidValue(f"{value!r} is not a boolean")


def cast_value(value: Any, hubspot_type: str) -> str | None:
    """The string HubSpot stores for a warehouse value, or None for a null.

    HubSpot takes every property value as a string; dates as ``YYYY-MM-DD``,
    datetimes as ISO 8601 in UTC, numbers without exponent, booleans as
    ``true``/``false``. Raises ``InvalidValue`` when the value does not fit.
    """
    if _is_null(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if hubspot_type == "number":
        return _format_number(value)
    if hubspot_type == "bool":
        return _format_bool(value)
    if hubspot_type == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        text = str(value).strip()
        if not isinstance(value, dt.datetime) and len(text) == 10:
            try:
                return dt.date.fromisoformat(text).isoformat()
            except ValueError as exc:
                raise InvalidValue(f"{text!r} is not a date") from exc
        return _parse_datetime(value).date().isoformat()
    if hubspot_type == "datetime":
        moment = _parse_datetime(value)
        spec = "seconds" if moment.microsecond == 0 else "milliseconds"
        return moment.isoformat(timespec=spec).replace("+00:00", "Z")
    return str(value)


def _comparable(value: Any, hubspot_type: str) -> str:
    """A value read back from the CRM in the form ``cast_value`` produces."""
    try:
        return cast_value(value, hubspot_type) or ""
    except InvalidValue:
        return str(value)


def build_properties(row: Mapping[str, Any], fields: Sequence[FieldMapping]) -> dict[str, str]:
    """The CRM properties of one row under the mapping's null policies.

    ``skip`` leaves a null out, so a value someone entered in the CRM stays;
    ``clear`` sends the empty string, which clears it.
    """
    properties: dict[str, str] = {}
    for mapping_field in fields:
        if mapping_field.column not in row:
            raise InvalidValue(f"column {mapping_field.column!r} is missing from the row")
        try:
            value = cast_value(row[mapping_field.column], mapping_field.type)
        except InvalidValue as exc:
            raise InvalidValue(f"{mapping_field.column}: {exc}") from None
        if value is None:
            if mapping_field.null_policy == "clear":
                properties[mapping_field.property] = ""
            continue
        properties[mapping_field.property] = value
    return properties


def payload_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------ DuckDB state


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``crm_sync`` schema and its tables if they are missing."""
    con.execute(_DDL)


def rows_from_relation(con: duckdb.DuckDBPyConnection, relation: str) -> list[dict[str, Any]]:
    """Every row of a warehouse relation (e.g. ``sync.crm_company_sync``) as dicts."""
    cursor = con.execute(f"select * from {relation}")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _as_records(rows: Any) -> list[dict[str, Any]]:
    if hasattr(rows, "to_dict"):  # pandas DataFrame
        return [dict(r) for r in rows.to_dict("records")]
    return [dict(r) for r in rows]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Run:
    """Bookkeeping of one run: its sync_runs row, rejections and counters."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        client: HubSpotClient | None,
        object_type: str,
        mode: str,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.con = con
        self.client = client
        self.requests_before = client.stats.requests if client else 0
        self.result = SyncResult(
            run_id=uuid.uuid4().hex, object_type=object_type, mode=mode, started_at=_now()
        )
        ensure_state_tables(con)
        con.execute(
            f"insert into {SCHEMA}.sync_runs (run_id, object_type, mode, started_at, status) "
            "values (?, ?, ?, ?, 'running')",
            [self.result.run_id, object_type, mode, self.result.started_at],
        )

    def reject(
        self,
        record_id: str | None,
        operation: str,
        error: str,
        payload: Mapping[str, Any] | None = None,
        *,
        count: bool = True,
    ) -> None:
        """Record one rejection; written with the batch's transaction or at the end."""
        rejection = Rejection(record_id, operation, error, payload)
        self.result.rejections.append(rejection)
        if count:
            self.result.rejected += 1
        self.con.execute(
            f"insert into {SCHEMA}.sync_rejections values (?, ?, ?, ?, ?, ?, ?)",
            [
                self.result.run_id,
                self.result.object_type,
                record_id,
                operation,
                json.dumps(payload, sort_keys=True, default=str) if payload is not None else None,
                error,
                _now(),
            ],
        )

    def fail(self, exc: BaseException) -> None:
        """Mark the run failed; never mask the original error with a bookkeeping one."""
        try:
            self.finish("failed", error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the connection itself may be what failed
            log.exception("could not record the failed CRM sync run %s", self.result.run_id)

    def finish(self, status: str, error: str | None = None) -> SyncResult:
        result = self.result
        result.finished_at = _now()
        if self.client is not None:
            result.requests = self.client.stats.requests - self.requests_before
        result.status = status
        self.con.execute(
            f"""
            update {SCHEMA}.sync_runs set
                finished_at = ?, rows_in = ?, added = ?, changed = ?, unchanged = ?,
                rejected = ?, requests = ?, status = ?, readback_checked = ?,
                readback_mismatches = ?, skipped = ?, error = ?
            where run_id = ?
            """,
            [
                result.finished_at,
                result.rows_in,
                result.added,
                result.changed,
                result.unchanged,
                result.rejected,
                result.requests,
                status,
                result.readback_checked,
                result.readback_mismatches,
                result.skipped,
                error,
                result.run_id,
            ],
        )
        log.info(
            "CRM %s sync %s (%s): %s rows, %s added, %s changed, %s unchanged, "
            "%s rejected, %s skipped, %s requests, read-back %s/%s mismatched",
            result.object_type,
            result.run_id,
            result.mode,
            result.rows_in,
            result.added,
            result.changed,
            result.unchanged,
            result.rejected,
            result.skipped,
            result.requests,
            result.readback_mismatches,
            result.readback_checked,
        )
        return result


def _upsert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    """One multi-row ``insert or replace``: DuckDB's executemany costs ~2 ms a row."""
    if not rows:
        return
    placeholders = "(" + ", ".join("?" * len(rows[0])) + ")"
    con.execute(
        f"insert or replace into {SCHEMA}.{table} values "
        + ", ".join([placeholders] * len(rows)),
        [value for row in rows for value in row],
    )


def _error_text(error: RecordError) -> str:
    return f"{error.category}: {error.message}"


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    size = max(1, min(size, MAX_BATCH_SIZE))
    return [items[i : i + size] for i in range(0, len(items), size)]


# ------------------------------------------------------------ CRM schema set-up


def _property_specs(
    fields: Iterable[FieldMapping], group_name: str, *, custom_only: bool
) -> list[dict[str, Any]]:
    specs = []
    for mapping_field in fields:
        if custom_only and mapping_field.property.startswith(HUBSPOT_DEFINED_PREFIXES):
            continue
        spec = {
            "name": mapping_field.property,
            "label": mapping_field.label,
            "type": mapping_field.type,
            "fieldType": mapping_field.field_type,
            "groupName": group_name,
        }
        if mapping_field.description:
            spec["description"] = mapping_field.description
        specs.append(spec)
    return specs


def ensure_company_properties(client: HubSpotClient, mapping: CrmMapping) -> list[str]:
    """Create the property group and every mapped company property that is missing."""
    client.ensure_property_group(
        "companies", mapping.property_group_name, mapping.property_group_label
    )
    specs = _property_specs(
        mapping.companies.fields, mapping.property_group_name, custom_only=True
    )
    return client.ensure_properties("companies", specs)


def ensure_task_properties(client: HubSpotClient, mapping: CrmMapping) -> list[str]:
    """Create the custom task properties (at least ``cs_task_key``) that are missing."""
    specs = _property_specs(mapping.tasks.fields, mapping.property_group_name, custom_only=True)
    if not any(s["name"] == TASK_KEY_PROPERTY for s in specs):
        specs.append(
            {
                "name": TASK_KEY_PROPERTY,
                "label": "CS task key",
                "type": "string",
                "fieldType": "text",
                "groupName": mapping.property_group_name,
                "description": "Warehouse key of the playbook task; unique per task.",
            }
        )
    client.ensure_property_group(
        "tasks", mapping.property_group_name, mapping.property_group_label
    )
    return client.ensure_properties("tasks", specs)


# -------------------------------------------------------------------- diffing


def _prepare(
    run: _Run,
    records: list[dict[str, Any]],
    object_mapping: ObjectMapping,
    state: Mapping[str, str],
    *,
    extra: Callable[[dict[str, Any], str], tuple[dict[str, str], str | None]] | None = None,
) -> list[_Pending]:
    """Validate rows and keep the new or changed ones; count the rest."""
    seen: set[str] = set()
    pending: list[_Pending] = []
    for row in records:
        raw_key = row.get(object_mapping.key_column)
        key = None if _is_null(raw_key) else str(raw_key).strip()
        if not key:
            run.reject(None, "validate", f"missing key {object_mapping.key_column!r}", _safe(row))
            continue
        if key in seen:
            run.reject(key, "validate", f"duplicate key {key!r} in the input", _safe(row))
            continue
        seen.add(key)
        try:
            properties = build_properties(row, object_mapping.fields)
            company_id = None
            if extra is not None:
                more, company_id = extra(row, key)
                properties.update(more)
        except InvalidValue as exc:
            run.reject(key, "validate", str(exc), _safe(row))
            continue
        digest = payload_hash({"properties": properties, "company_id": company_id})
        previous = state.get(key)
        if previous == digest:
            run.result.unchanged += 1
            continue
        pending.append(_Pending(key, properties, digest, previous is None, company_id))
    return pending


def _safe(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (None if _is_null(v) else v) for k, v in row.items()}


# ------------------------------------------------------------------ read-back


def _readback(
    run: _Run,
    written: list[_Pending],
    types: Mapping[str, str],
    read: Callable[[list[str], list[str]], BatchOutcome],
    crm_id: Callable[[_Pending], str],
    sample_size: int,
) -> None:
    """Read a sample of this run's writes back and compare every sent property."""
    if not written or sample_size <= 0:
        return
    sample = random.Random(run.result.run_id).sample(written, min(sample_size, len(written)))
    by_id = {crm_id(p): p for p in sample}
    properties = sorted({name for p in sample for name in p.properties})
    outcome = BatchOutcome()
    for chunk in _batches(list(by_id), MAX_BATCH_SIZE):
        outcome.extend(read(list(chunk), properties))
    returned = {str(r["id"]): r.get("properties") or {} for r in outcome.results}
    run.result.readback_checked = len(by_id)
    for record_id, pending in by_id.items():
        if record_id not in returned:
            run.result.readback_mismatches += 1
            run.reject(
                pending.key, "readback", "record not found on read-back",
                pending.properties, count=False,
            )
            continue
        actual = returned[record_id]
        diffs = [
            f"{name}: sent {sent!r}, read {actual.get(name)!r}"
            for name, sent in pending.properties.items()
            if _comparable(sent, types.get(name, "string"))
            != _comparable(actual.get(name), types.get(name, "string"))
        ]
        if diffs:
            run.result.readback_mismatches += 1
            run.reject(pending.key, "readback", "; ".join(diffs), pending.properties, count=False)


def _types(fields: Iterable[FieldMapping]) -> dict[str, str]:
    return {f.property: f.type for f in fields}


def _finish_status(result: SyncResult) -> str:
    if result.rejected or result.readback_mismatches:
        return "partial"
    return "success"


# ------------------------------------------------------------------ companies


def sync_companies(
    con: duckdb.DuckDBPyConnection,
    client: HubSpotClient | None,
    mapping: CrmMapping,
    rows: Any,
    mode: str = "upsert",
    *,
    batch_size: int = MAX_BATCH_SIZE,
    readback_sample: int = DEFAULT_READBACK_SAMPLE,
    ensure_properties: bool = True,
    full_resync: bool = False,
    on_batch: BatchHook | None = None,
) -> SyncResult:
    """Push the company rows that changed since the CRM last confirmed them.

    ``rows`` is a DataFrame or an iterable of mappings with the mapping's
    columns. ``client`` may be None only for a dry run. ``full_resync`` sends
    every valid row whatever the state says (after read-back mismatches, or
    when someone overwrote warehouse-owned values in the CRM).
    """
    if mode != "dry_run" and client is None:
        raise ValueError("a CRM client is needed unless mode is 'dry_run'")
    run = _Run(con, client, "companies", mode)
    try:
        records = _as_records(rows)
        run.result.rows_in = len(records)
        state = dict(
            con.execute(f"select record_id, payload_hash from {SCHEMA}.company_state").fetchall()
        )
        if full_resync:
            state = {key: "" for key in state}  # known (so "changed"), never equal
        pending = _prepare(run, records, mapping.companies, state)
        if mode == "dry_run":
            run.result.added = sum(p.is_new for p in pending)
            run.result.changed = len(pending) - run.result.added
            return run.finish(_finish_status(run.result))
        assert client is not None
        if ensure_properties:
            run.result.created_properties = ensure_company_properties(client, mapping)
        written: list[_Pending] = []
        for index, batch in enumerate(_batches(pending, batch_size)):
            outcome = client.batch_update_companies(
                [{"id": p.key, "properties": p.properties} for p in batch]
            )
            if on_batch:
                on_batch("sent", index)
            confirmed = _settle_company_batch(run, batch, outcome)
            written.extend(confirmed)
            if on_batch:
                on_batch("committed", index)
        _readback(
            run,
            written,
            _types(mapping.companies.fields),
            client.batch_read_companies,
            lambda p: p.key,
            readback_sample,
        )
        return run.finish(_finish_status(run.result))
    except BaseException as exc:
        run.fail(exc)
        raise


def _settle_company_batch(
    run: _Run, batch: Sequence[_Pending], outcome: BatchOutcome
) -> list[_Pending]:
    """Write state for the confirmed records and rejections for the rest, atomically."""
    ok = set(outcome.ok_ids)
    errors = outcome.error_by_id()
    loose = "; ".join(_error_text(e) for e in outcome.unattributed_errors())
    confirmed = [p for p in batch if p.key in ok]
    now = _now()
    run.con.execute("begin transaction")
    try:
        _upsert_rows(
            run.con,
            "company_state",
            [
                [p.key, p.payload_hash, json.dumps(p.properties), now, run.result.run_id]
                for p in confirmed
            ],
        )
        for pending in batch:
            if pending.key in ok:
                continue
            error = errors.get(pending.key)
            text = _error_text(error) if error else loose or "not confirmed by the CRM"
            run.reject(pending.key, "update", text, pending.properties)
        run.con.execute("commit")
    except BaseException:
        run.con.execute("rollback")
        raise
    run.result.added += sum(p.is_new for p in confirmed)
    run.result.changed += sum(not p.is_new for p in confirmed)
    return confirmed


# ---------------------------------------------------------------------- tasks


def sync_tasks(
    con: duckdb.DuckDBPyConnection,
    client: HubSpotClient | None,
    mapping: CrmMapping,
    rows: Any,
    mode: str = "upsert",
    *,
    company_column: str = "account_id",
    batch_size: int = MAX_BATCH_SIZE,
    readback_sample: int = DEFAULT_READBACK_SAMPLE,
    ensure_properties: bool = True,
    full_resync: bool = False,
    on_batch: BatchHook | None = None,
) -> SyncResult:
    """Create or update the playbook tasks that changed since the CRM confirmed them.

    Each row carries the task key (``mapping.tasks.key_column``, sent as
    ``cs_task_key``) and the company to associate (``company_column``). New
    keys are first looked up in the CRM by ``cs_task_key``: a task a crashed
    run created but never recorded is adopted instead of duplicated.
    ``full_resync`` resends every valid row, as for companies.
    """
    if mode != "dry_run" and client is None:
        raise ValueError("a CRM client is needed unless mode is 'dry_run'")
    run = _Run(con, client, "tasks", mode)
    try:
        records = _as_records(rows)
        run.result.rows_in = len(records)
        known = {
            key: (task_id, digest)
            for key, task_id, digest in con.execute(
                f"select task_key, crm_task_id, payload_hash from {SCHEMA}.task_state"
            ).fetchall()
        }

        def task_extra(row: dict[str, Any], key: str) -> tuple[dict[str, str], str | None]:
            company = row.get(company_column)
            if _is_null(company) or not str(company).strip():
                raise InvalidValue(f"missing company {company_column!r}")
            return {TASK_KEY_PROPERTY: key}, str(company).strip()

        pending = _prepare(
            run,
            records,
            mapping.tasks,
            {k: "" if full_resync else digest for k, (_, digest) in known.items()},
            extra=task_extra,
        )
        for p in pending:
            p.crm_task_id = known[p.key][0] if p.key in known else None
        if mode == "dry_run":
            run.result.added = sum(p.is_new for p in pending)
            run.result.changed = len(pending) - run.result.added
            return run.finish(_finish_status(run.result))
        assert client is not None
        if ensure_properties:
            run.result.created_properties = ensure_task_properties(client, mapping)
        written: list[_Pending] = []
        for index, batch in enumerate(_batches(pending, batch_size)):
            written.extend(_sync_task_batch(run, client, list(batch), mode, index, on_batch))
            if on_batch:
                on_batch("committed", index)
        _readback(
            run,
            written,
            {**_types(mapping.tasks.fields), TASK_KEY_PROPERTY: "string"},
            client.batch_read_tasks,
            lambda p: str(p.crm_task_id),
            readback_sample,
        )
        return run.finish(_finish_status(run.result))
    except BaseException as exc:
        run.fail(exc)
        raise


def _update_inputs(batch: Iterable[_Pending]) -> list[dict[str, Any]]:
    # The key is left out of updates: it never changes, and re-sending a
    # unique-value property is needless risk.
    return [
        {
            "id": p.crm_task_id,
            "properties": {k: v for k, v in p.properties.items() if k != TASK_KEY_PROPERTY},
        }
        for p in batch
    ]


def _sync_task_batch(
    run: _Run,
    client: HubSpotClient,
    batch: list[_Pending],
    mode: str,
    index: int,
    on_batch: BatchHook | None,
) -> list[_Pending]:
    """Send one batch of tasks: adopt, update or create, then settle it atomically."""
    confirmed: list[_Pending] = []
    rejected: list[tuple[_Pending, str, str]] = []
    vanished: list[str] = []

    # Keys the state does not know may still exist in the CRM (a run that died
    # after the create but before its state write): find them first.
    unknown = [p for p in batch if p.crm_task_id is None]
    if unknown:
        found = client.search_tasks_by_key([p.key for p in unknown])
        for p in unknown:
            if p.key in found:
                p.crm_task_id = str(found[p.key]["id"])

    to_update = [p for p in batch if p.crm_task_id is not None]
    to_create = [p for p in batch if p.crm_task_id is None]
    if mode == "update_only" and to_create:
        run.result.skipped += len(to_create)
        to_create = []

    if to_update:
        outcome = client.update_tasks(_update_inputs(to_update))
        ok = set(outcome.ok_ids)
        errors = outcome.error_by_id()
        loose = "; ".join(_error_text(e) for e in outcome.unattributed_errors())
        for p in to_update:
            if p.crm_task_id in ok:
                confirmed.append(p)
                continue
            error = errors.get(str(p.crm_task_id))
            text = _error_text(error) if error else loose or "not confirmed by the CRM"
            if error is not None and error.category == "OBJECT_NOT_FOUND":
                # Someone deleted the task in the CRM: forget it, so the next
                # run looks the key up again and recreates it (upsert mode).
                vanished.append(p.key)
                text += " (deleted in the CRM; forgotten so the next run recreates it)"
            rejected.append((p, "update", text))

    if to_create:
        outcome = client.create_tasks(
            [
                {"properties": p.properties, "associations": company_association(p.company_id)}
                for p in to_create
            ]
        )
        created = {
            str((r.get("properties") or {}).get(TASK_KEY_PROPERTY)): str(r["id"])
            for r in outcome.results
            if "id" in r
        }
        errors = outcome.error_by_key()
        loose = "; ".join(_error_text(e) for e in outcome.unattributed_errors())
        # A key the CRM already holds (our own earlier create whose answer was
        # lost) or one the answer does not account for is looked up, not resent.
        unsure = [
            p.key
            for p in to_create
            if p.key not in created
            and (p.key not in errors or errors[p.key].category == "OBJECT_ALREADY_EXISTS")
        ]
        existing = client.search_tasks_by_key(unsure) if unsure else {}
        for p in to_create:
            error = errors.get(p.key)
            if p.key in created:
                p.crm_task_id = created[p.key]
            elif p.key in existing:
                p.crm_task_id = str(existing[p.key]["id"])
            elif error is not None and error.existing_id:
                # Search indexes lag behind writes; the conflict names the holder.
                p.crm_task_id = error.existing_id
            if p.crm_task_id is not None:
                confirmed.append(p)
            else:
                text = _error_text(error) if error else loose or "not confirmed by the CRM"
                rejected.append((p, "create", text))

    if on_batch:
        on_batch("sent", index)
    now = _now()
    run.con.execute("begin transaction")
    try:
        _upsert_rows(
            run.con,
            "task_state",
            [
                [
                    p.key,
                    p.crm_task_id,
                    p.payload_hash,
                    json.dumps({"properties": p.properties, "company_id": p.company_id}),
                    now,
                    run.result.run_id,
                ]
                for p in confirmed
            ],
        )
        if vanished:
            run.con.execute(
                f"delete from {SCHEMA}.task_state where task_key in "
                f"({', '.join('?' * len(vanished))})",
                vanished,
            )
        for p, operation, text in rejected:
            run.reject(p.key, operation, text, p.properties)
        run.con.execute("commit")
    except BaseException:
        run.con.execute("rollback")
        raise
    run.result.added += sum(p.is_new for p in confirmed)
    run.result.changed += sum(not p.is_new for p in confirmed)
    return confirmed
