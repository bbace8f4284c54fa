"""An embedded, HubSpot-compatible CRM sandbox: the API subset the reverse-ETL sync uses.

Why it exists: the sync must be tested against something that behaves like HubSpot where
it matters for correctness (207 multi-status with per-record errors, 100-input batches,
a rolling rate limit with 429 and Retry-After, a unique-value property guarding task
creates, lost responses and timeouts) without a HubSpot account, network access or a
token. It is a real HTTP server on loopback (stdlib only: ``ThreadingHTTPServer``,
``sqlite3``, ``json``), so the client's retries, connection handling and JSON parsing are
exercised end to end, and it persists to a SQLite file so a "crash and resume" can be
tested across restarts. See docs/crm_sandbox.md for what it does not emulate.

In-process use::

    server = SandboxServer("data/crm_sandbox.sqlite", port=0)
    base_url = server.start()
    ...
    server.stop()

Command line: ``python -m orchestration.crm.sandbox --port 8765 --db data/crm_sandbox.sqlite``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import decimal
import hmac
import json
import logging
import math
import re
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "sandbox-token"
OBJECT_TYPES = ("companies", "tasks")
BATCH_INPUT_LIMIT = 100
LIST_PAGE_LIMIT = 100
SEARCH_PAGE_LIMIT = 200
STRING_MAX_LENGTH = 65_536
TASK_TO_COMPANY_ASSOCIATION = 192
DEFAULT_MAX_REQUESTS = 190
DEFAULT_INTERVAL_SECONDS = 10.0
DEFAULT_DAILY_LIMIT = 1_000_000
DEFAULT_TIMEOUT_FAULT_SECONDS = 3.0

# HubSpot's rate-limit response headers (developers.hubspot.com usage guidelines).
HEADER_MAX = "X-HubSpot-RateLimit-Max"
HEADER_REMAINING = "X-HubSpot-RateLimit-Remaining"
HEADER_INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"
HEADER_DAILY = "X-HubSpot-RateLimit-Daily"
HEADER_DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"

PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
# Which form field each property type may use; HubSpot rejects other combinations.
FIELD_TYPES_BY_TYPE: dict[str, tuple[str, ...]] = {
    "string": ("text", "textarea", "phonenumber", "html"),
    "number": ("number",),
    "date": ("date",),
    "datetime": ("date",),
    "enumeration": ("select", "radio", "checkbox", "booleancheckbox"),
    "bool": ("booleancheckbox",),
}
INTERNAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
# Properties the sandbox treats as unique-value even when created without the flag:
# the sync's idempotency key for task creates.
ALWAYS_UNIQUE = {"tasks": frozenset({"cs_task_key"}), "companies": frozenset()}

DEFAULT_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "companies": (("companyinformation", "Company information"),),
    "tasks": (("taskinformation", "Task information"),),
}


def _option_list(*values: str) -> list[dict[str, Any]]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


# (name, label, type, fieldType, options, read_only)
_BuiltIn = tuple[str, str, str, str, list[dict[str, Any]], bool]
BUILT_IN_PROPERTIES: dict[str, tuple[_BuiltIn, ...]] = {
    "companies": (
        ("name", "Name", "string", "text", [], False),
        ("domain", "Company Domain Name", "string", "text", [], False),
        ("industry", "Industry", "enumeration", "select", [], False),
        ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", [], False),
        ("hubspot_owner_id", "Company owner", "enumeration", "select", [], False),
        ("city", "City", "string", "text", [], False),
        ("country", "Country/Region", "string", "text", [], False),
        ("phone", "Phone Number", "string", "phonenumber", [], False),
        ("numberofemployees", "Number of Employees", "number", "number", [], False),
        ("annualrevenue", "Annual Revenue", "number", "number", [], False),
        ("createdate", "Create Date", "datetime", "date", [], True),
        ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], True),
        ("hs_object_id", "Record ID", "number", "number", [], True),
    ),
    "tasks": (
        ("hs_timestamp", "Due date", "datetime", "date", [], False),
        ("hs_task_subject", "Task Title", "string", "text", [], False),
        ("hs_task_body", "Notes", "string", "textarea", [], False),
        (
            "hs_task_status",
            "Task Status",
            "enumeration",
            "select",
            _option_list("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            False,
        ),
        (
            "hs_task_priority",
            "Priority",
            "enumeration",
            "select",
            _option_list("NONE", "LOW", "MEDIUM", "HIGH"),
            False,
        ),
        (
            "hs_task_type",
            "Task Type",
            "enumeration",
            "select",
            _option_list("EMAIL", "CALL", "TODO", "LINKED_IN", "MEETING"),
            False,
        ),
        ("hubspot_owner_id", "Assigned to", "enumeration", "select", [], False),
        ("hs_createdate", "Create date", "datetime", "date", [], True),
        ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], True),
        ("hs_object_id", "Record ID", "number", "number", [], True),
    ),
}
BUILT_IN_GROUP = {"companies": "companyinformation", "tasks": "taskinformation"}
# What a read returns when the caller names no properties (as HubSpot does).
DEFAULT_READ_PROPERTIES = {
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "tasks": ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
}
CREATED_PROPERTY = {"companies": "createdate", "tasks": "hs_createdate"}
SINGULAR = {"companies": "Company", "tasks": "Task"}
FIRST_ID = {"companies": 1_000_000_001, "tasks": 90_000_000_001}


class LoggedRequest(NamedTuple):
    """One request as the server received it (also for refused and faulted ones)."""

    method: str
    path: str
    n_records: int


class LoggedResponse(NamedTuple):
    """What the server answered; status 0 means the connection was dropped."""

    method: str
    path: str
    n_records: int
    status: int


class ApiError(Exception):
    """A whole-request error answered as HubSpot's standard error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        context: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.context = dict(context or {})

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.context:
            payload["context"] = self.context
        return payload


class InvalidPropertyValue(Exception):
    """A property value that does not fit its property's type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    """HubSpot's timestamp format: UTC with milliseconds and a Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_datetime(raw: Any) -> dt.datetime:
    """Epoch milliseconds (number or digits) or ISO 8601; naive times are taken as UTC."""
    if isinstance(raw, bool):
        raise ValueError("boolean")
    if isinstance(raw, int | float) or (isinstance(raw, str) and raw.strip().isdigit()):
        return dt.datetime.fromtimestamp(int(raw) / 1000, tz=dt.UTC)
    if not isinstance(raw, str):
        raise ValueError("not a string")
    text = raw.strip()
    if len(text) == 10:
        parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    else:
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def normalize_value(spec: Mapping[str, Any], raw: Any) -> str:
    """Validate a value for its property and return it as HubSpot stores and returns it.

    HubSpot keeps every value as a string and normalizes some: numbers lose trailing
    zeros ("71.50" -> "71.5"), datetimes come back in UTC with milliseconds, dates as
    YYYY-MM-DD, booleans as "true"/"false". Emulating that keeps read-back comparisons
    in the sync honest. ``None`` and "" clear the property (stored as "").
    """
    if raw is None or raw == "":
        return ""
    if isinstance(raw, dict | list):
        raise InvalidPropertyValue("INVALID_VALUE", "a property value must be a scalar")
    ptype = spec["type"]
    if ptype == "number":
        if isinstance(raw, bool):
            raise InvalidPropertyValue("INVALID_NUMBER", f"{raw!r} is not a valid number")
        try:
            number = decimal.Decimal(str(raw).strip())
        except decimal.InvalidOperation as exc:
            raise InvalidPropertyValue(
                "INVALID_NUMBER", f"{raw!r} is not a valid number"
            ) from exc
        if not number.is_finite():
            raise InvalidPropertyValue("INVALID_NUMBER", f"{raw!r} is not a finite number")
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if ptype == "bool":
        text = str(raw).strip().lower()
        if text not in ("true", "false"):
            raise InvalidPropertyValue("INVALID_BOOLEAN", f"{raw!r} is not true or false")
        return text
    if ptype == "date":
        try:
            moment = _parse_datetime(raw)
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidPropertyValue("INVALID_DATE", f"{raw!r} is not a valid date") from exc
        if moment.time() != dt.time():
            raise InvalidPropertyValue("INVALID_DATE", f"{raw!r} is not midnight UTC")
        return moment.date().isoformat()
    if ptype == "datetime":
        try:
            return _iso(_parse_datetime(raw))
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidPropertyValue(
                "INVALID_DATETIME", f"{raw!r} is not a valid datetime"
            ) from exc
    text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    if ptype == "enumeration":
        allowed = {option["value"] for option in spec.get("options") or []}
        chosen = text.split(";") if spec.get("fieldType") == "checkbox" else [text]
        bad = [value for value in chosen if allowed and value not in allowed]
        if bad:
            raise InvalidPropertyValue(
                "INVALID_OPTION",
                f"{bad[0]!r} was not one of the allowed options: {sorted(allowed)}",
            )
        return text
    if len(text) > STRING_MAX_LENGTH:
        raise InvalidPropertyValue("INVALID_STRING", f"longer than {STRING_MAX_LENGTH} characters")
    return text


@dataclass
class _Fault:
    kind: str  # "5xx" | "timeout" | "drop"
    status: int = 0
    apply_before_drop: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT_FAULT_SECONDS
    path_contains: str | None = None


@dataclass
class _RateDecision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0
    policy: str = ""


@dataclass
class _RateLimiter:
    """A rolling window per token; refused requests are not counted (as HubSpot does)."""

    max_requests: int
    interval_seconds: float
    daily_limit: int = DEFAULT_DAILY_LIMIT
    windows: dict[str, collections.deque[float]] = field(default_factory=dict)
    daily_used: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, token: str) -> _RateDecision:
        with self.lock:
            now = time.monotonic()
            window = self.windows.setdefault(token, collections.deque())
            while window and window[0] <= now - self.interval_seconds:
                window.popleft()
            used_today = self.daily_used.get(token, 0)
            if used_today >= self.daily_limit:
                midnight = dt.datetime.combine(
                    _now().date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
                )
                wait = math.ceil((midnight - _now()).total_seconds())
                return _RateDecision(False, self._headers(len(window), used_today), wait, "DAILY")
            if len(window) >= self.max_requests:
                wait = max(1, math.ceil(window[0] + self.interval_seconds - now))
                return _RateDecision(
                    False, self._headers(len(window), used_today), wait, "TEN_SECONDLY_ROLLING"
                )
            window.append(now)
            self.daily_used[token] = used_today + 1
            return _RateDecision(True, self._headers(len(window), used_today + 1))

    def _headers(self, in_window: int, used_today: int) -> dict[str, str]:
        return {
            HEADER_MAX: str(self.max_requests),
            HEADER_REMAINING: str(max(0, self.max_requests - in_window)),
            HEADER_INTERVAL: str(int(round(self.interval_seconds * 1000))),
            HEADER_DAILY: str(self.daily_limit),
            HEADER_DAILY_REMAINING: str(max(0, self.daily_limit - used_today)),
        }

    def configure(self, max_requests: int, interval_seconds: float) -> None:
        if max_requests < 1 or interval_seconds <= 0:
            raise ValueError("max_requests must be >= 1 and interval_seconds > 0")
        with self.lock:
            self.max_requests = max_requests
            self.interval_seconds = float(interval_seconds)

    def clear(self) -> None:
        with self.lock:
            self.windows.clear()
            self.daily_used.clear()


_SCHEMA = """
create table if not exists property_groups (
    object_type text not null,
    name text not null,
    label text not null,
    display_order integer not null,
    primary key (object_type, name)
);
create table if not exists properties (
    object_type text not null,
    name text not null,
    definition text not null,
    primary key (object_type, name)
);
create table if not exists companies (
    id text primary key,
    properties text not null,
    created_at text not null,
    updated_at text not null
);
create table if not exists tasks (
    id text primary key,
    properties text not null,
    associations text not null,
    created_at text not null,
    updated_at text not null
);
create table if not exists sequences (
    object_type text primary key,
    next_id integer not null
);
"""


class _Store:
    """All CRM state in SQLite; every method runs under one lock (sqlite3 is not shared)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(db_path), check_same_thread=False)
        self.con.row_factory = sqlite3.Row
        # WAL + NORMAL: a commit survives the process dying (what restart tests need)
        # without an fsync per request, which made every batch cost tens of ms.
        self.con.execute("pragma journal_mode = wal")
        self.con.execute("pragma synchronous = normal")
        self.lock = threading.RLock()
        with self.lock, self.con:
            self.con.executescript(_SCHEMA)
            self._install_built_ins()

    def close(self) -> None:
        with self.lock:
            self.con.close()

    def _install_built_ins(self) -> None:
        stamp = _iso(_now())
        for object_type, groups in DEFAULT_GROUPS.items():
            for order, (name, label) in enumerate(groups):
                self.con.execute(
                    "insert or ignore into property_groups values (?, ?, ?, ?)",
                    (object_type, name, label, order),
                )
        for object_type, specs in BUILT_IN_PROPERTIES.items():
            for order, (name, label, ptype, field_type, options, read_only) in enumerate(specs):
                definition = _property_definition(
                    name=name,
                    label=label,
                    ptype=ptype,
                    field_type=field_type,
                    group_name=BUILT_IN_GROUP[object_type],
                    description="",
                    options=options,
                    display_order=order,
                    has_unique_value=False,
                    read_only=read_only,
                    stamp=stamp,
                )
                self.con.execute(
                    "insert or ignore into properties values (?, ?, ?)",
                    (object_type, name, json.dumps(definition)),
                )
            self.con.execute(
                "insert or ignore into sequences values (?, ?)",
                (object_type, FIRST_ID[object_type]),
            )

    def wipe(self) -> None:
        with self.lock, self.con:
            for table in ("property_groups", "properties", "companies", "tasks", "sequences"):
                self.con.execute(f"delete from {table}")  # noqa: S608 (constant names)
            self._install_built_ins()

    # -- property groups and properties ------------------------------------------------

    def groups(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.con.execute(
                "select name, label, display_order from property_groups"
                " where object_type = ? order by display_order, name",
                (object_type,),
            ).fetchall()
        return [_group_json(row) for row in rows]

    def group(self, object_type: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.con.execute(
                "select name, label, display_order from property_groups"
                " where object_type = ? and name = ?",
                (object_type, name),
            ).fetchone()
        return _group_json(row) if row else None

    def create_group(self, object_type: str, name: str, label: str, order: int) -> dict:
        with self.lock, self.con:
            if self.group(object_type, name) is not None:
                raise ApiError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"A property group named '{name}' already exists.",
                    {"name": [name]},
                )
            self.con.execute(
                "insert into property_groups values (?, ?, ?, ?)",
                (object_type, name, label, order),
            )
        return {"name": name, "label": label, "displayOrder": order, "archived": False}

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            rows = self.con.execute(
                "select name, definition from properties where object_type = ? order by name",
                (object_type,),
            ).fetchall()
        return {row["name"]: json.loads(row["definition"]) for row in rows}

    def create_property(self, object_type: str, definition: dict[str, Any]) -> None:
        with self.lock, self.con:
            self.con.execute(
                "insert into properties values (?, ?, ?)",
                (object_type, definition["name"], json.dumps(definition)),
            )

    # -- objects ---------------------------------------------------------------------

    def get_objects(self, object_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        with self.lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.con.execute(
                    f"select * from {object_type} where id in ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                found.update({row["id"]: _object_row(object_type, row) for row in rows})
        return found

    def all_objects(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.con.execute(
                f"select * from {object_type} order by id"  # noqa: S608 (constant names)
            ).fetchall()
        return [_object_row(object_type, row) for row in rows]

    def page(self, object_type: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.con.execute(
                f"select * from {object_type} where id > ? order by id limit ?",  # noqa: S608
                (after or "", limit),
            ).fetchall()
        return [_object_row(object_type, row) for row in rows]

    def next_id(self, object_type: str) -> str:
        """A fresh numeric id, skipping ids already taken by seeded records."""
        with self.lock:
            value = self.con.execute(
                "select next_id from sequences where object_type = ?", (object_type,)
            ).fetchone()[0]
            while self.con.execute(
                f"select 1 from {object_type} where id = ?",  # noqa: S608 (constant names)
                (str(value),),
            ).fetchone():
                value += 1
            self.con.execute(
                "update sequences set next_id = ? where object_type = ?",
                (value + 1, object_type),
            )
        return str(value)

    def write_objects(self, object_type: str, records: list[dict[str, Any]]) -> None:
        """Insert or replace whole records (id, properties, associations, timestamps)."""
        with self.lock, self.con:
            for record in records:
                values: list[Any] = [record["id"], json.dumps(record["properties"])]
                if object_type == "tasks":
                    values.append(json.dumps(record.get("associations") or []))
                values += [record["createdAt"], record["updatedAt"]]
                marks = ",".join("?" * len(values))
                self.con.execute(
                    f"insert or replace into {object_type} values ({marks})",  # noqa: S608
                    values,
                )


def _group_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "name": row["name"],
        "label": row["label"],
        "displayOrder": row["display_order"],
        "archived": False,
    }


def _object_row(object_type: str, row: sqlite3.Row) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": row["id"],
        "properties": json.loads(row["properties"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }
    if object_type == "tasks":
        record["associations"] = json.loads(row["associations"])
    return record


def _property_definition(
    *,
    name: str,
    label: str,
    ptype: str,
    field_type: str,
    group_name: str,
    description: str,
    options: list[dict[str, Any]],
    display_order: int,
    has_unique_value: bool,
    read_only: bool,
    stamp: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": ptype,
        "fieldType": field_type,
        "groupName": group_name,
        "description": description,
        "options": options,
        "displayOrder": display_order,
        "hasUniqueValue": has_unique_value,
        "hidden": False,
        "formField": False,
        "calculated": False,
        "externalOptions": False,
        "archived": False,
        "createdAt": stamp,
        "updatedAt": stamp,
        "modificationMetadata": {
            "archivable": not read_only,
            "readOnlyDefinition": read_only,
            "readOnlyValue": read_only,
        },
    }


def _require_object_type(raw: str) -> str:
    if raw not in OBJECT_TYPES:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {raw}. The sandbox serves {OBJECT_TYPES}.",
        )
    return raw


def _inputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' must be a list.")
    inputs = body["inputs"]
    if len(inputs) > BATCH_INPUT_LIMIT:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"Batch input of {len(inputs)} records exceeds the limit {BATCH_INPUT_LIMIT}.",
        )
    for item in inputs:
        if not isinstance(item, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be objects.")
    return inputs


def _record_error(
    category: str,
    message: str,
    context: dict[str, list[str]],
    details: list[dict[str, Any]] | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
    }
    if details:
        error["errors"] = details
    if trace_id:
        error["objectWriteTraceId"] = trace_id
    return error


def _batch_body(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str) -> dict:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": _iso(_now()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def _public(record: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """A record as the API returns it, limited to the requested properties."""
    stored = record["properties"]
    props = dict(stored) if names is None else {name: stored.get(name) for name in names}
    return {
        "id": record["id"],
        "properties": props,
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "archived": False,
    }


class SandboxServer:
    """The HubSpot-compatible sandbox: start it, point the client at ``base_url``, stop it.

    Test hooks (no HTTP needed): ``set_rate_limit``, ``inject_faults``, ``reset``,
    ``seed_companies``, ``companies()``, ``tasks()``, ``company(id)``, ``task_by_key(key)``,
    ``request_log`` and ``response_log``.
    """

    def __init__(
        self,
        db_path: str | Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        token: str = SANDBOX_TOKEN,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        daily_limit: int = DEFAULT_DAILY_LIMIT,
        timeout_fault_seconds: float = DEFAULT_TIMEOUT_FAULT_SECONDS,
        search_lag_seconds: float = 0.0,
    ) -> None:
        self.db_path = Path(db_path)
        self.host = host
        self.port = port
        self.token = token
        self.timeout_fault_seconds = timeout_fault_seconds
        self.search_lag_seconds = search_lag_seconds
        self._initial_limit = (max_requests, float(interval_seconds))
        self._limiter = _RateLimiter(max_requests, float(interval_seconds), daily_limit)
        self._faults: collections.deque[_Fault] = collections.deque()
        self._state_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stopping = threading.Event()
        self._store: _Store | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.request_log: list[LoggedRequest] = []
        self.response_log: list[LoggedResponse] = []

    def __repr__(self) -> str:
        return f"SandboxServer(db_path={str(self.db_path)!r}, base_url={self._url()!r})"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        """Open the database, bind the port (0 picks a free one) and serve in a thread."""
        if self._httpd is not None:
            return self.base_url
        self._stopping.clear()
        self._store = _Store(self.db_path)
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"crm-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("CRM sandbox listening on %s (db %s)", self.base_url, self.db_path)
        return self.base_url

    def stop(self) -> None:
        """Stop serving, cut open keep-alive connections, wake hung handlers, close the DB."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.close_all_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._write_lock:
            if self._store is not None:
                self._store.close()
        self._httpd = None
        self._thread = None
        self._store = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Where the client points, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._url()

    @property
    def store(self) -> _Store:
        if self._store is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._store

    # -- test hooks ------------------------------------------------------------------

    def set_rate_limit(self, max_requests: int, interval_seconds: float) -> None:
        """Change the rolling window; requests already counted stay in it."""
        self._limiter.configure(max_requests, interval_seconds)

    def inject_faults(
        self,
        status_5xx: int = 0,
        timeouts: int = 0,
        drops: int = 0,
        *,
        apply_before_drop: bool = False,
        timeout_seconds: float | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Make the next requests fail: first ``status_5xx`` (502, 503, 502…), then
        ``timeouts`` (hang ``timeout_seconds``, then 504, write NOT applied), then ``drops``
        (close the connection without a response; the write is applied first when
        ``apply_before_drop``). With ``path_contains`` only matching requests consume them.
        Faults hit after authentication and rate limiting, so they count toward the window.
        """
        wait = self.timeout_fault_seconds if timeout_seconds is None else timeout_seconds
        queued = [_Fault("5xx", status=502 if i % 2 == 0 else 503) for i in range(status_5xx)]
        queued += [_Fault("timeout", timeout_seconds=wait) for _ in range(timeouts)]
        queued += [_Fault("drop", apply_before_drop=apply_before_drop) for _ in range(drops)]
        for fault in queued:
            fault.path_contains = path_contains
        with self._state_lock:
            self._faults.extend(queued)

    def pending_faults(self) -> int:
        """How many injected faults have not fired yet."""
        with self._state_lock:
            return len(self._faults)

    def reset(self) -> None:
        """Back to a fresh sandbox: no records, no custom properties or groups, no faults,
        empty logs and rate window, the rate limit given at construction."""
        with self._state_lock:
            self._faults.clear()
            self.request_log.clear()
            self.response_log.clear()
        self._limiter.clear()
        self._limiter.configure(*self._initial_limit)
        with self._write_lock:
            self.store.wipe()

    def seed_companies(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Create or merge companies without HTTP: [{"id": "123", "properties": {...}}].

        Values are stored as given (as strings) without validation, so seeds can carry
        any HubSpot property the warehouse's raw CRM tables hold.
        """
        stamp = _iso(_now())
        seeds = list(records)
        rows = []
        with self._write_lock:
            existing = self.store.get_objects("companies", (str(r["id"]) for r in seeds))
            for raw in seeds:
                company_id = str(raw["id"])
                old = existing.get(company_id)
                props = dict(old["properties"]) if old else {}
                given = raw.get("properties") or {}
                props.update({k: "" if v is None else str(v) for k, v in given.items()})
                props.update({"hs_object_id": company_id, "hs_lastmodifieddate": stamp})
                props.setdefault("createdate", stamp)
                rows.append(
                    {
                        "id": company_id,
                        "properties": props,
                        "createdAt": old["createdAt"] if old else stamp,
                        "updatedAt": stamp,
                    }
                )
            self.store.write_objects("companies", rows)
        return len(rows)

    def companies(self) -> list[dict[str, Any]]:
        """Every company as {"id", "properties", "createdAt", "updatedAt"}, by id."""
        return self.store.all_objects("companies")

    def company(self, company_id: str) -> dict[str, Any] | None:
        """One company's stored properties, or None."""
        record = self.store.get_objects("companies", [str(company_id)]).get(str(company_id))
        return record["properties"] if record else None

    def tasks(self) -> list[dict[str, Any]]:
        """Every task as {"id", "properties", "associations": {"companies": [ids]}, ...}."""
        return [self._task_view(task) for task in self.store.all_objects("tasks")]

    def task_by_key(self, task_key: str) -> dict[str, Any] | None:
        """The task whose cs_task_key is ``task_key``, or None."""
        for task in self.tasks():
            if task["properties"].get("cs_task_key") == task_key:
                return task
        return None

    @staticmethod
    def _task_view(task: dict[str, Any]) -> dict[str, Any]:
        companies = [
            link["toObjectId"]
            for link in task.get("associations") or []
            if link.get("toObjectType") == "companies"
        ]
        return {**task, "associations": {"companies": companies}}

    # -- request plumbing used by the handler ---------------------------------------------

    def _log_request(self, entry: LoggedRequest) -> None:
        with self._state_lock:
            self.request_log.append(entry)

    def _log_response(self, entry: LoggedRequest, status: int) -> None:
        with self._state_lock:
            self.response_log.append(LoggedResponse(*entry, status))

    def _take_fault(self, path: str) -> _Fault | None:
        with self._state_lock:
            for index, fault in enumerate(self._faults):
                if fault.path_contains is None or fault.path_contains in path:
                    del self._faults[index]
                    return fault
        return None

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        offered = header[len("Bearer ") :].strip().encode()
        return hmac.compare_digest(offered, self.token.encode())

    def dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, dict[str, Any]]:
        """Route one authenticated request; returns (status, JSON body)."""
        for pattern, methods in _ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            handler = methods.get(method)
            if handler is None:
                raise ApiError(405, "VALIDATION_ERROR", f"Method {method} not allowed on {path}")
            return handler(self, query, body, *match.groups())
        raise ApiError(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}")

    # -- properties and groups ----------------------------------------------------------

    def _list_groups(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        return 200, {"results": self.store.groups(_require_object_type(object_type))}

    def _get_group(self, query: dict, body: Any, object_type: str, name: str) -> tuple[int, dict]:
        group = self.store.group(_require_object_type(object_type), name)
        if group is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Property group {name} does not exist.")
        return 200, group

    def _create_group(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        if not isinstance(body, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON.")
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not INTERNAL_NAME.match(name):
            raise ApiError(400, "VALIDATION_ERROR", f"Invalid property group name: {name!r}")
        if not isinstance(label, str) or not label.strip():
            raise ApiError(400, "VALIDATION_ERROR", "A property group needs a label.")
        order = body.get("displayOrder", -1)
        if not isinstance(order, int) or isinstance(order, bool):
            raise ApiError(400, "VALIDATION_ERROR", "displayOrder must be an integer.")
        with self._write_lock:
            return 201, self.store.create_group(object_type, name, label, order)

    def _list_properties(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        specs = self.store.properties(_require_object_type(object_type))
        return 200, {"results": list(specs.values())}

    def _get_property(
        self, query: dict, body: Any, object_type: str, name: str
    ) -> tuple[int, dict]:
        spec = self.store.properties(_require_object_type(object_type)).get(name)
        if spec is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Property {name} does not exist.")
        return 200, spec

    def _create_property(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        if not isinstance(body, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON.")
        name = body.get("name")
        ptype, field_type = body.get("type"), body.get("fieldType")
        group_name, label = body.get("groupName"), body.get("label")
        if not isinstance(name, str) or not INTERNAL_NAME.match(name):
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Invalid property name {name!r}: lowercase letters, digits and underscores,"
                " starting with a letter.",
            )
        if name.startswith("hs_"):
            raise ApiError(400, "VALIDATION_ERROR", "The hs_ prefix is reserved for HubSpot.")
        if not isinstance(label, str) or not label.strip():
            raise ApiError(400, "VALIDATION_ERROR", "A property needs a label.")
        if ptype not in PROPERTY_TYPES:
            raise ApiError(
                400, "VALIDATION_ERROR", f"Invalid type {ptype!r}; one of {PROPERTY_TYPES}."
            )
        if field_type not in FIELD_TYPES_BY_TYPE[ptype]:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"fieldType {field_type!r} is not valid for type {ptype!r};"
                f" use one of {FIELD_TYPES_BY_TYPE[ptype]}.",
            )
        options = body.get("options") or []
        if not isinstance(options, list) or not all(
            isinstance(o, dict) and isinstance(o.get("value"), str) for o in options
        ):
            raise ApiError(400, "VALIDATION_ERROR", "options must be [{label, value}, ...].")
        with self._write_lock:
            if self.store.group(object_type, str(group_name)) is None:
                raise ApiError(
                    400,
                    "VALIDATION_ERROR",
                    f"Property group {group_name!r} does not exist for {object_type}.",
                    {"groupName": [str(group_name)]},
                )
            if name in self.store.properties(object_type):
                raise ApiError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"Property named '{name}' already exists.",
                    {"name": [name]},
                )
            definition = _property_definition(
                name=name,
                label=label,
                ptype=ptype,
                field_type=field_type,
                group_name=str(group_name),
                description=str(body.get("description") or ""),
                options=options,
                display_order=int(body.get("displayOrder", -1)),
                has_unique_value=bool(body.get("hasUniqueValue"))
                or name in ALWAYS_UNIQUE[object_type],
                read_only=False,
                stamp=_iso(_now()),
            )
            self.store.create_property(object_type, definition)
        return 201, definition

    # -- objects: validation shared by create and update ----------------------------------

    def _validate_properties(
        self, specs: Mapping[str, dict[str, Any]], raw: Any
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Normalized values and per-property problems (HubSpot's PropertyValidationResult)."""
        if not isinstance(raw, dict):
            raise ApiError(
                400, "VALIDATION_ERROR", "Invalid input JSON: properties must be an object."
            )
        values: dict[str, str] = {}
        problems: list[dict[str, Any]] = []
        for name, value in raw.items():
            spec = specs.get(name)
            if spec is None:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
                continue
            if spec["modificationMetadata"]["readOnlyValue"]:
                problems.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" is read-only',
                        "error": "READ_ONLY_VALUE",
                        "name": name,
                    }
                )
                continue
            try:
                values[name] = normalize_value(spec, value)
            except InvalidPropertyValue as exc:
                problems.append(
                    {
                        "isValid": False,
                        "message": f"{exc.message} (property {name}, type {spec['type']})",
                        "error": exc.code,
                        "name": name,
                    }
                )
        return values, problems

    @staticmethod
    def _validation_error(
        problems: list[dict[str, Any]], context: dict[str, list[str]], trace_id: str | None
    ) -> dict[str, Any]:
        details = [
            {
                "message": problem["message"],
                "code": problem["error"],
                "context": {"propertyName": [problem["name"]]},
            }
            for problem in problems
        ]
        return _record_error(
            "VALIDATION_ERROR",
            f"Property values were not valid: {json.dumps(problems)}",
            context,
            details,
            trace_id,
        )

    @staticmethod
    def _unique_index(
        records: Iterable[Mapping[str, Any]], unique: Iterable[str]
    ) -> dict[tuple[str, str], str]:
        index: dict[tuple[str, str], str] = {}
        for record in records:
            for name in unique:
                value = record["properties"].get(name)
                if value:
                    index[(name, value)] = record["id"]
        return index

    # -- objects: batch endpoints --------------------------------------------------------

    def _batch_create(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        started = _iso(_now())
        inputs = _inputs(body)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self._write_lock:
            specs = self.store.properties(object_type)
            unique = [name for name, spec in specs.items() if spec.get("hasUniqueValue")]
            taken = self._unique_index(self.store.all_objects(object_type), unique)
            to_write: list[dict[str, Any]] = []
            for item in inputs:
                trace_id = item.get("objectWriteTraceId")
                values, problems = self._validate_properties(specs, item.get("properties", {}))
                key_context = {n: [values[n]] for n in unique if values.get(n)}
                if object_type == "tasks" and not problems and not values.get("hs_timestamp"):
                    problems.append(
                        {
                            "isValid": False,
                            "message": "hs_timestamp (the due date) is required for a task",
                            "error": "REQUIRED_PROPERTY",
                            "name": "hs_timestamp",
                        }
                    )
                if problems:
                    errors.append(self._validation_error(problems, key_context, trace_id))
                    continue
                links, link_error = self._associations(object_type, item.get("associations"))
                if link_error:
                    errors.append(
                        _record_error("VALIDATION_ERROR", link_error, key_context, None, trace_id)
                    )
                    continue
                clash = next(
                    ((n, values[n]) for n in unique if (n, values.get(n)) in taken), None
                )
                if clash is not None:
                    errors.append(
                        _record_error(
                            "OBJECT_ALREADY_EXISTS",
                            f"{SINGULAR[object_type]} already exists. Existing ID: "
                            f"{taken[clash]}",
                            {clash[0]: [clash[1]]},
                            None,
                            trace_id,
                        )
                    )
                    continue
                new_id = self.store.next_id(object_type)
                stamp = _iso(_now())
                props = dict(values)
                props.update(
                    {
                        "hs_object_id": new_id,
                        CREATED_PROPERTY[object_type]: stamp,
                        "hs_lastmodifieddate": stamp,
                    }
                )
                record = {
                    "id": new_id,
                    "properties": props,
                    "associations": links,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
                for name in unique:
                    if props.get(name):
                        taken[(name, props[name])] = new_id
                to_write.append(record)
                result = _public(record)
                if trace_id:
                    result["objectWriteTraceId"] = trace_id
                results.append(result)
            self.store.write_objects(object_type, to_write)
        return (207 if errors else 201), _batch_body(results, errors, started)

    def _associations(
        self, object_type: str, raw: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Task-to-company links (type 192); anything else is a per-record error."""
        if not raw:
            return [], None
        if object_type != "tasks":
            return [], "The sandbox supports associations only on task creates."
        if not isinstance(raw, list):
            return [], "associations must be a list"
        links: list[dict[str, Any]] = []
        for link in raw:
            target = (link or {}).get("to", {}).get("id") if isinstance(link, dict) else None
            types = link.get("types") if isinstance(link, dict) else None
            if target is None or not isinstance(types, list) or not types:
                return [], "Each association needs to.id and types."
            for kind in types:
                category = (kind or {}).get("associationCategory")
                type_id = (kind or {}).get("associationTypeId")
                if category != "HUBSPOT_DEFINED" or type_id != TASK_TO_COMPANY_ASSOCIATION:
                    return [], (
                        f"Unsupported association {category}/{type_id}: the sandbox knows"
                        f" HUBSPOT_DEFINED/{TASK_TO_COMPANY_ASSOCIATION} (task to company)."
                    )
            target = str(target)
            if not self.store.get_objects("companies", [target]):
                return [], f"Association target company {target} does not exist."
            links.append(
                {
                    "toObjectType": "companies",
                    "toObjectId": target,
                    "associationTypeId": TASK_TO_COMPANY_ASSOCIATION,
                }
            )
        return links, None

    def _batch_update(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        started = _iso(_now())
        inputs = _inputs(body)
        ids = []
        for item in inputs:
            if not isinstance(item.get("id"), str | int) or isinstance(item.get("id"), bool):
                raise ApiError(
                    400, "VALIDATION_ERROR", "Invalid input JSON: each input needs an id."
                )
            ids.append(str(item["id"]))
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                {"ids": duplicates},
            )
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self._write_lock:
            specs = self.store.properties(object_type)
            unique = [name for name, spec in specs.items() if spec.get("hasUniqueValue")]
            existing = self.store.get_objects(object_type, ids)
            taken = (
                self._unique_index(self.store.all_objects(object_type), unique) if unique else {}
            )
            to_write: list[dict[str, Any]] = []
            for record_id, item in zip(ids, inputs, strict=True):
                trace_id = item.get("objectWriteTraceId")
                values, problems = self._validate_properties(specs, item.get("properties", {}))
                if problems:
                    errors.append(self._validation_error(problems, {"ids": [record_id]}, trace_id))
                    continue
                old = existing.get(record_id)
                if old is None:
                    errors.append(
                        _record_error(
                            "OBJECT_NOT_FOUND",
                            f"Could not get some {object_type} objects, they may be deleted"
                            " or not exist. Check that ids are valid.",
                            {"ids": [record_id]},
                            None,
                            trace_id,
                        )
                    )
                    continue
                clash = next(
                    (
                        (n, values[n])
                        for n in unique
                        if values.get(n) and taken.get((n, values[n]), record_id) != record_id
                    ),
                    None,
                )
                if clash is not None:
                    errors.append(
                        _record_error(
                            "OBJECT_ALREADY_EXISTS",
                            f"{SINGULAR[object_type]} already exists. Existing ID: "
                            f"{taken[clash]}",
                            {"ids": [record_id], clash[0]: [clash[1]]},
                            None,
                            trace_id,
                        )
                    )
                    continue
                stamp = _iso(_now())
                props = {**old["properties"], **values, "hs_lastmodifieddate": stamp}
                for name in unique:
                    if values.get(name):
                        taken[(name, values[name])] = record_id
                to_write.append({**old, "properties": props, "updatedAt": stamp})
                # HubSpot echoes the written properties (normalized) and the system ones.
                result = _public(
                    {**old, "properties": props, "updatedAt": stamp},
                    names=[*values, "hs_object_id", "hs_lastmodifieddate"],
                )
                if trace_id:
                    result["objectWriteTraceId"] = trace_id
                results.append(result)
            self.store.write_objects(object_type, to_write)
        return (207 if errors else 200), _batch_body(results, errors, started)

    def _read_names(self, object_type: str, requested: Any) -> list[str]:
        """Requested property names that exist; HubSpot silently ignores unknown ones."""
        if not requested:
            return list(DEFAULT_READ_PROPERTIES[object_type])
        if isinstance(requested, str):
            requested = [part for part in requested.split(",") if part]
        specs = self.store.properties(object_type)
        names = [str(n) for n in requested if str(n) in specs]
        return list(dict.fromkeys([*names, "hs_object_id"]))

    def _batch_read(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        started = _iso(_now())
        inputs = _inputs(body)
        if body.get("idProperty"):
            raise ApiError(400, "VALIDATION_ERROR", "The sandbox reads by record id only.")
        ids = [str(item.get("id")) for item in inputs]
        names = self._read_names(object_type, body.get("properties"))
        found = self.store.get_objects(object_type, ids)
        results = [_public(found[i], names) for i in dict.fromkeys(ids) if i in found]
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        errors = []
        if missing:
            errors.append(
                _record_error(
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {object_type} objects, they may be deleted or not"
                    " exist. Check that ids are valid.",
                    {"ids": missing},
                )
            )
        return (207 if errors else 200), _batch_body(results, errors, started)

    def _list_objects(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        limit = self._limit(query.get("limit", ["10"])[0], LIST_PAGE_LIMIT)
        after = query.get("after", [None])[0]
        names = self._read_names(object_type, ",".join(query.get("properties", [])))
        rows = self.store.page(object_type, after, limit + 1)
        page = rows[:limit]
        results = [self._with_associations(object_type, r, names, query) for r in page]
        payload: dict[str, Any] = {"results": results}
        if len(rows) > limit:
            cursor = page[-1]["id"]
            payload["paging"] = {
                "next": {
                    "after": cursor,
                    "link": f"{self._url()}/crm/v3/objects/{object_type}?after={cursor}",
                }
            }
        return 200, payload

    def _with_associations(
        self, object_type: str, record: dict[str, Any], names: list[str], query: dict
    ) -> dict[str, Any]:
        result = _public(record, names)
        wanted = ",".join(query.get("associations", []))
        if object_type == "tasks" and "companies" in wanted.split(","):
            links = [
                {"id": link["toObjectId"], "type": "task_to_company"}
                for link in record.get("associations") or []
            ]
            result["associations"] = {"companies": {"results": links}}
        return result

    def _get_object(
        self, query: dict, body: Any, object_type: str, record_id: str
    ) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        record = self.store.get_objects(object_type, [record_id]).get(record_id)
        if record is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Object {record_id} does not exist.")
        names = self._read_names(object_type, ",".join(query.get("properties", [])))
        return 200, self._with_associations(object_type, record, names, query)

    @staticmethod
    def _limit(raw: Any, maximum: int) -> int:
        try:
            limit = int(raw)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "VALIDATION_ERROR", f"limit must be an integer: {raw!r}") from exc
        if not 1 <= limit <= maximum:
            raise ApiError(400, "VALIDATION_ERROR", f"limit must be between 1 and {maximum}.")
        return limit

    def _search(self, query: dict, body: Any, object_type: str) -> tuple[int, dict]:
        object_type = _require_object_type(object_type)
        if not isinstance(body, dict):
            raise ApiError(400, "VALIDATION_ERROR", "Invalid input JSON.")
        limit = self._limit(body.get("limit", 10), SEARCH_PAGE_LIMIT)
        offset = int(body.get("after") or 0)
        groups = body.get("filterGroups") or []
        if not isinstance(groups, list):
            raise ApiError(400, "VALIDATION_ERROR", "filterGroups must be a list.")
        predicates = [self._filter_group(group) for group in groups]
        names = self._read_names(object_type, body.get("properties"))
        horizon = _now() - dt.timedelta(seconds=self.search_lag_seconds)
        matched = [
            record
            for record in self.store.all_objects(object_type)
            if (not predicates or any(p(record["properties"]) for p in predicates))
            and (
                self.search_lag_seconds <= 0
                or _parse_datetime(record["createdAt"]) <= horizon
            )
        ]
        page = matched[offset : offset + limit]
        payload: dict[str, Any] = {
            "total": len(matched),
            "results": [_public(record, names) for record in page],
        }
        if offset + limit < len(matched):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, payload

    @staticmethod
    def _filter_group(group: Any) -> Callable[[Mapping[str, Any]], bool]:
        """AND of the group's filters; string comparisons are case-insensitive as in HubSpot."""
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise ApiError(400, "VALIDATION_ERROR", "Each filter group needs a filters list.")
        checks: list[Callable[[Mapping[str, Any]], bool]] = []
        for spec in filters:
            name = spec.get("propertyName")
            operator = spec.get("operator")
            value = str(spec.get("value", "")).lower()
            values = {str(v).lower() for v in spec.get("values") or []}

            def current(props: Mapping[str, Any], name: str = name) -> str:
                return str(props.get(name) or "").lower()

            if operator == "EQ":
                checks.append(lambda p, c=current, v=value: c(p) == v)
            elif operator == "NEQ":
                checks.append(lambda p, c=current, v=value: c(p) != v)
            elif operator == "IN":
                checks.append(lambda p, c=current, vs=values: c(p) in vs)
            elif operator == "NOT_IN":
                checks.append(lambda p, c=current, vs=values: c(p) not in vs)
            elif operator == "HAS_PROPERTY":
                checks.append(lambda p, c=current: c(p) != "")
            elif operator == "NOT_HAS_PROPERTY":
                checks.append(lambda p, c=current: c(p) == "")
            else:
                raise ApiError(
                    400,
                    "VALIDATION_ERROR",
                    f"Operator {operator!r} is not supported by the sandbox"
                    " (EQ, NEQ, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY).",
                )
        return lambda props: all(check(props) for check in checks)


_OBJ = r"([^/]+)"
_ROUTES: list[tuple[re.Pattern[str], dict[str, Callable[..., tuple[int, dict]]]]] = [
    (
        re.compile(rf"^/crm/v3/properties/{_OBJ}/groups$"),
        {"GET": SandboxServer._list_groups, "POST": SandboxServer._create_group},
    ),
    (re.compile(rf"^/crm/v3/properties/{_OBJ}/groups/{_OBJ}$"), {"GET": SandboxServer._get_group}),
    (
        re.compile(rf"^/crm/v3/properties/{_OBJ}$"),
        {"GET": SandboxServer._list_properties, "POST": SandboxServer._create_property},
    ),
    (re.compile(rf"^/crm/v3/properties/{_OBJ}/{_OBJ}$"), {"GET": SandboxServer._get_property}),
    (
        re.compile(rf"^/crm/v3/objects/{_OBJ}/batch/create$"),
        {"POST": SandboxServer._batch_create},
    ),
    (
        re.compile(rf"^/crm/v3/objects/{_OBJ}/batch/update$"),
        {"POST": SandboxServer._batch_update},
    ),
    (re.compile(rf"^/crm/v3/objects/{_OBJ}/batch/read$"), {"POST": SandboxServer._batch_read}),
    (re.compile(rf"^/crm/v3/objects/{_OBJ}/search$"), {"POST": SandboxServer._search}),
    (re.compile(rf"^/crm/v3/objects/{_OBJ}$"), {"GET": SandboxServer._list_objects}),
    (re.compile(rf"^/crm/v3/objects/{_OBJ}/{_OBJ}$"), {"GET": SandboxServer._get_object}),
]


class _HTTPServer(ThreadingHTTPServer):
    """Threaded server that knows its sandbox and can cut its open connections on stop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        sandbox: SandboxServer,
    ) -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_all_connections(self) -> None:
        with self.connections_lock:
            open_sockets = list(self.connections)
            self.connections.clear()
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (as HubSpot serves), JSON in and out."""

    protocol_version = "HTTP/1.1"
    server_version = "crm-sandbox/1.0"
    timeout = 60  # idle keep-alive connections are closed after a minute
    # Headers and body leave in one segment with Nagle off; otherwise the client's
    # delayed ACK adds about 40 ms to every request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        body_error = None
        if raw:
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                body_error = ApiError(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}")
        inputs = body.get("inputs") if isinstance(body, dict) else None
        entry = LoggedRequest(self.command, path, len(inputs) if isinstance(inputs, list) else 0)
        sandbox._log_request(entry)

        if not sandbox._authorized(self.headers.get("Authorization")):
            error = ApiError(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found or invalid. This API supports OAuth 2.0"
                " and private app access tokens.",
            )
            self._send(entry, 401, error.body(), {})
            return
        decision = sandbox._limiter.acquire(sandbox.token)
        if not decision.allowed:
            limit_name = "daily" if decision.policy == "DAILY" else "ten_secondly_rolling"
            payload = {
                "status": "error",
                "message": f"You have reached your {limit_name} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": decision.policy,
                "requestId": str(uuid.uuid4()),
            }
            headers = {**decision.headers, "Retry-After": str(decision.retry_after)}
            self._send(entry, 429, payload, headers)
            return

        fault = sandbox._take_fault(path)
        if fault is not None and fault.kind == "5xx":
            reason = "Bad Gateway" if fault.status == 502 else "Service Unavailable"
            payload = {
                "status": "error",
                "message": f"{reason} (fault injected by the sandbox)",
                "correlationId": str(uuid.uuid4()),
                "category": "INTERNAL_ERROR",
            }
            self._send(entry, fault.status, payload, decision.headers)
            return
        if fault is not None and fault.kind == "timeout":
            sandbox._stopping.wait(fault.timeout_seconds)
            payload = {
                "status": "error",
                "message": "Gateway Timeout (fault injected; the request was not applied)",
                "correlationId": str(uuid.uuid4()),
                "category": "INTERNAL_ERROR",
            }
            self._send(entry, 504, payload, decision.headers)
            return
        if fault is not None and fault.kind == "drop":
            if fault.apply_before_drop and body_error is None:
                try:
                    sandbox.dispatch(self.command, path, parse_qs(url.query), body)
                except ApiError:
                    pass
            self._drop(entry)
            return

        try:
            if body_error is not None:
                raise body_error
            status, payload = sandbox.dispatch(self.command, path, parse_qs(url.query), body)
        except ApiError as error:
            status, payload = error.status, error.body()
        except Exception:  # a sandbox bug must surface as a 500, not a hung client
            logger.exception("sandbox failed on %s %s", self.command, path)
            status, payload = 500, ApiError(500, "INTERNAL_ERROR", "Sandbox error").body()
        self._send(entry, status, payload, decision.headers)

    def _send(
        self, entry: LoggedRequest, status: int, payload: Any, headers: Mapping[str, str]
    ) -> None:
        data = json.dumps(payload).encode()
        # Logged before writing, so a test reading the log after the response sees it.
        self.server.sandbox._log_response(entry, status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-HubSpot-Correlation-Id", str(uuid.uuid4()))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self, entry: LoggedRequest) -> None:
        """Close without a status line: the client sees a protocol or connection error."""
        self.server.sandbox._log_response(entry, 0)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="HubSpot-compatible CRM sandbox server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default="data/crm_sandbox.sqlite", help="SQLite file")
    parser.add_argument("--token", default=SANDBOX_TOKEN, help="accepted Bearer token")
    parser.add_argument("--max-requests", type=int, default=DEFAULT_MAX_REQUESTS)
    parser.add_argument("--interval-seconds", type=float, default=DEFAULT_INTERVAL_SECONDS)
    parser.add_argument(
        "--seed-json",
        type=Path,
        help='JSON file with [{"id": "...", "properties": {...}}] companies to seed',
    )
    args = parser.parse_args(argv)
    server = SandboxServer(
        args.db,
        port=args.port,
        host=args.host,
        token=args.token,
        max_requests=args.max_requests,
        interval_seconds=args.interval_seconds,
    )
    base_url = server.start()
    if args.seed_json:
        seeded = server.seed_companies(json.loads(args.seed_json.read_text()))
        print(f"seeded {seeded} companies")
    print(
        f"CRM sandbox on {base_url} (db {server.db_path}, "
        f"{args.max_requests} requests per {args.interval_seconds:g} s); Ctrl-C stops it"
    )
    # SIGTERM stops it like Ctrl-C, closing the database. Without a handler of
    # its own the process would inherit its parent's disposition, and a parent
    # that ignores SIGTERM (an ignore survives exec) would leave it unstoppable
    # except by SIGKILL.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    main()
