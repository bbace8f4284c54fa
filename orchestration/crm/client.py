"""A small HubSpot CRM v3 client for the reverse-ETL sync.

Why it looks the way it does:

- HubSpot limits private apps to a number of requests per rolling window
  (190 per 10 s on Professional/Enterprise). The client paces itself with a
  rolling-window limiter sized from that limit, so a full run stays under it
  and 429s are the exception; when one happens anyway (another app shares the
  portal, or the portal's limit is lower) it waits what ``Retry-After`` says
  and shrinks its own window to the limit the ``X-HubSpot-RateLimit-*``
  headers report.
- 5xx answers, timeouts and dropped connections are retried with exponential
  backoff and jitter (tenacity). Every call the sync makes is safe to repeat:
  batch updates are idempotent, and task creates carry ``cs_task_key``, a
  unique-value property, so a create whose response was lost comes back as a
  per-record ``OBJECT_ALREADY_EXISTS`` instead of a duplicate task.
- Batch endpoints answer 200/201 when every input succeeded and 207 when some
  failed; both are turned into one ``BatchOutcome`` with the good records and
  the per-record errors, so one bad row never fails its 99 neighbours.
- The access token lives only in the HTTP client's default headers. It is
  never part of a log line, an exception message, a repr or a returned value;
  any server text that echoes it is redacted before it is surfaced.
"""

from __future__ import annotations

import collections
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import tenacity

if TYPE_CHECKING:
    from orchestration.settings import Settings

log = logging.getLogger(__name__)

# HubSpot batch endpoints accept at most this many inputs per request.
MAX_BATCH_SIZE = 100

# Per-interval rate-limit headers HubSpot sends on every response.
HEADER_LIMIT_MAX = "X-HubSpot-RateLimit-Max"
HEADER_LIMIT_REMAINING = "X-HubSpot-RateLimit-Remaining"
HEADER_LIMIT_INTERVAL_MS = "X-HubSpot-RateLimit-Interval-Milliseconds"

# Association from a task to a company, as HubSpot defines it.
TASK_TO_COMPANY_ASSOCIATION_TYPE_ID = 192

# HubSpot names the record holding a unique value in the conflict's message.
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_REDACTED = "[redacted]"


class HubSpotError(Exception):
    """A request HubSpot refused or that could not complete after its retries.

    Carries the HTTP status (None when no response arrived), HubSpot's error
    ``category`` and a message already stripped of the access token.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        category: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.category = category
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        status = f"HTTP {self.status_code} " if self.status_code is not None else ""
        category = f"{self.category}: " if self.category else ""
        return f"{where}{status}{category}{self.message}"


class HubSpotAuthError(HubSpotError):
    """The token is missing, wrong or lacks a scope: retrying cannot help."""


class _RetryableResponse(Exception):
    """A 429 or 5xx answer; internal to the retry loop."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


@dataclass(frozen=True)
class RecordError:
    """One per-record failure of a batch request.

    ``ids`` are the record ids HubSpot names in the error's context; ``keys``
    the ``cs_task_key`` values it names (task creates have no id yet). An
    error that names neither applies to an unknown subset of the batch.
    """

    category: str
    message: str
    ids: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    existing_id: str | None = None  # for OBJECT_ALREADY_EXISTS: the record holding the key


@dataclass
class BatchOutcome:
    """The merged answer of one or more batch requests."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    requests: int = 0

    @property
    def ok_ids(self) -> list[str]:
        return [str(r["id"]) for r in self.results if "id" in r]

    def error_by_id(self) -> dict[str, RecordError]:
        """Errors keyed by the record id they name (first error per id wins)."""
        out: dict[str, RecordError] = {}
        for error in self.errors:
            for record_id in error.ids:
                out.setdefault(record_id, error)
        return out

    def error_by_key(self) -> dict[str, RecordError]:
        """Errors keyed by the ``cs_task_key`` they name."""
        out: dict[str, RecordError] = {}
        for error in self.errors:
            for key in error.keys:
                out.setdefault(key, error)
        return out

    def unattributed_errors(self) -> list[RecordError]:
        return [e for e in self.errors if not e.ids and not e.keys]

    def extend(self, other: BatchOutcome) -> None:
        self.results.extend(other.results)
        self.errors.extend(other.errors)
        self.requests += other.requests


@dataclass
class ClientStats:
    """What the client did, for run metadata and the benchmark."""

    requests: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    waited_seconds: float = 0.0


class RollingWindowLimiter:
    """Admit at most ``max_requests`` per rolling ``interval_seconds``.

    A classic token bucket with a full bucket plus refill lets through up to
    twice its size in one rolling window, which is exactly what HubSpot's
    ``TEN_SECONDLY_ROLLING`` policy refuses; so the bucket here holds one token
    per slot of the window and a slot comes back ``interval`` after the
    response of the request that used it. Measuring from the response (not the
    send) makes the count conservative whatever the network delay: the server
    saw that request no later than the client saw its answer.
    """

    def __init__(
        self,
        max_requests: int,
        interval_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or interval_seconds <= 0:
            raise ValueError("the rate limit needs at least one request per positive interval")
        self.max_requests = max_requests
        self.interval_seconds = float(interval_seconds)
        self._clock = clock
        self._sleep = sleep
        self._done: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a slot is free, take it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._done and self._done[0] + self.interval_seconds <= now:
                    self._done.popleft()
                if len(self._done) + self._in_flight < self.max_requests:
                    self._in_flight += 1
                    return waited
                if self._done:
                    pause = self._done[0] + self.interval_seconds - now
                else:
                    pause = self.interval_seconds / self.max_requests
            pause = max(pause, 0.001)
            self._sleep(pause)
            waited += pause

    def release(self) -> None:
        """Mark the request that took a slot as answered (or abandoned)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._done.append(self._clock())

    def tighten(self, max_requests: int, interval_seconds: float) -> bool:
        """Adopt a stricter limit the server reported; never loosen the configured one.

        A lower rate means the server's window replaces ours; a smaller burst
        at a higher rate only lowers our count, keeping our longer interval,
        which satisfies both.
        """
        if max_requests < 1 or interval_seconds <= 0:
            return False
        with self._lock:
            if max_requests / interval_seconds < self.max_requests / self.interval_seconds:
                self.max_requests, self.interval_seconds = max_requests, interval_seconds
                return True
            if max_requests < self.max_requests:
                self.max_requests = max_requests
                return True
            return False


def _chunks(items: Sequence[Any], size: int = MAX_BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HubSpotClient:
    """HubSpot CRM v3 over httpx, paced, retried and token-safe.

    ``transport`` lets tests substitute an ``httpx.MockTransport``; ``sleep``
    lets them skip real waits. ``adapt_to_server_limits`` (default on) lets the
    rate-limit headers tighten the configured pace when the portal allows less.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        requests_per_interval: int = 190,
        interval_seconds: float = 10.0,
        timeout_seconds: float = 30.0,
        max_retries: int = 8,
        *,
        max_backoff_seconds: float = 30.0,
        adapt_to_server_limits: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise HubSpotAuthError("no HubSpot access token configured")
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_backoff_seconds = max_backoff_seconds
        self.adapt_to_server_limits = adapt_to_server_limits
        self.stats = ClientStats()
        self._secret = token
        self._sleep = sleep
        self._limiter = RollingWindowLimiter(
            requests_per_interval, interval_seconds, sleep=sleep
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> HubSpotClient:
        """A client for the configured HubSpot account; needs ``HUBSPOT_ACCESS_TOKEN``."""
        return cls(
            settings.hubspot_base_url,
            settings.hubspot_access_token or "",
            requests_per_interval=settings.crm_requests_per_interval,
            interval_seconds=settings.crm_interval_seconds,
            timeout_seconds=settings.crm_timeout_seconds,
            max_retries=settings.crm_max_retries,
            **kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"HubSpotClient(base_url={self.base_url!r}, "
            f"requests_per_interval={self._limiter.max_requests}, "
            f"interval_seconds={self._limiter.interval_seconds})"
        )

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def rate_limit(self) -> tuple[int, float]:
        """The (requests, seconds) window the client currently paces itself to."""
        return self._limiter.max_requests, self._limiter.interval_seconds

    # ------------------------------------------------------------------ transport

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, _REDACTED) if self._secret else text

    def _observe_limits(self, response: httpx.Response) -> None:
        """Shrink the local window when the server reports a stricter limit."""
        if not self.adapt_to_server_limits:
            return
        try:
            limit = int(response.headers[HEADER_LIMIT_MAX])
            interval_ms = int(response.headers[HEADER_LIMIT_INTERVAL_MS])
        except (KeyError, ValueError):
            return
        if self._limiter.tighten(limit, interval_ms / 1000):
            log.info(
                "HubSpot reports a limit of %s requests per %s ms; pacing to it",
                limit,
                interval_ms,
            )

    def _send_once(
        self, method: str, path: str, payload: Any, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        self.stats.waited_seconds += self._limiter.acquire()
        try:
            self.stats.requests += 1
            response = self._http.request(method, path, json=payload, params=params)
        except httpx.TransportError:
            self.stats.transport_errors += 1
            raise
        finally:
            self._limiter.release()
        self._observe_limits(response)
        if response.status_code in _RETRYABLE_STATUS:
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if response.status_code == 429:
                self.stats.rate_limited += 1
            else:
                self.stats.server_errors += 1
            raise _RetryableResponse(response, retry_after)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Retry-After for 429s; exponential backoff with full jitter otherwise."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableResponse) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_backoff_seconds) + random.uniform(0, 0.05)
        ceiling = min(self.max_backoff_seconds, 0.2 * 2 ** (state.attempt_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        what = (
            f"HTTP {exc.response.status_code}"
            if isinstance(exc, _RetryableResponse)
            else type(exc).__name__
        )
        seconds = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "HubSpot request %s; retry %s of %s in %.2f s",
            what,
            state.attempt_number,
            self.max_retries,
            seconds,
        )

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        allowed_status: Iterable[int] = (),
    ) -> httpx.Response:
        """Send one request with pacing and retries; raise ``HubSpotError`` on failure.

        Statuses in ``allowed_status`` (e.g. 404 for an existence probe, 409
        for a create that may already exist) are returned rather than raised.
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_RetryableResponse, httpx.TransportError)),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            response = retrying(self._send_once, method, path, payload, params)
        except _RetryableResponse as exc:
            raise self._error(
                exc.response, method, path, prefix="gave up after retries: "
            ) from None
        except httpx.TransportError as exc:
            raise HubSpotError(
                f"gave up after retries: {type(exc).__name__}: {self._redact(str(exc))}",
                method=method,
                path=path,
            ) from None
        if response.is_success or response.status_code in set(allowed_status):
            return response
        raise self._error(response, method, path)

    def _error(
        self, response: httpx.Response, method: str, path: str, prefix: str = ""
    ) -> HubSpotError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        message = str(body.get("message") or response.reason_phrase or "request failed")
        category = body.get("category") or body.get("errorType")
        cls = HubSpotAuthError if response.status_code in (401, 403) else HubSpotError
        return cls(
            prefix + self._redact(message),
            status_code=response.status_code,
            category=str(category) if category else None,
            method=method,
            path=path,
        )

    def _json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> Any:
        response = self.request(method, path, payload, **kwargs)
        return response.json() if response.content else {}

    # ------------------------------------------------------------ batch parsing

    def _parse_batch(self, body: Mapping[str, Any]) -> BatchOutcome:
        outcome = BatchOutcome(requests=1)
        outcome.results = [dict(r) for r in body.get("results") or []]
        for raw in body.get("errors") or []:
            context = raw.get("context") or {}
            existing = _EXISTING_ID.search(str(raw.get("message") or ""))
            outcome.errors.append(
                RecordError(
                    category=str(raw.get("category") or "UNKNOWN"),
                    message=self._redact(str(raw.get("message") or "")),
                    ids=tuple(str(i) for i in context.get("ids") or ()),
                    keys=tuple(str(k) for k in context.get("cs_task_key") or ()),
                    existing_id=existing.group(1) if existing else None,
                )
            )
        return outcome

    def _batch(self, path: str, inputs: Sequence[Mapping[str, Any]], **extra: Any) -> BatchOutcome:
        """POST ``inputs`` to a batch endpoint in chunks of at most 100."""
        outcome = BatchOutcome()
        for chunk in _chunks(list(inputs)):
            body = self._json("POST", path, {"inputs": list(chunk), **extra})
            outcome.extend(self._parse_batch(body))
        return outcome

    # ------------------------------------------------------------- properties

    def ensure_property_group(
        self, object_type: str, name: str, label: str, display_order: int = -1
    ) -> bool:
        """Create the property group unless it exists; True when it was created."""
        base = f"/crm/v3/properties/{object_type}/groups"
        probe = self.request("GET", f"{base}/{name}", allowed_status=(404,))
        if probe.status_code != 404:
            return False
        created = self.request(
            "POST",
            base,
            {"name": name, "label": label, "displayOrder": display_order},
            allowed_status=(409,),
        )
        return created.status_code != 409

    def list_properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        body = self._json("GET", f"/crm/v3/properties/{object_type}")
        return {p["name"]: p for p in body.get("results") or []}

    def ensure_properties(
        self, object_type: str, specs: Iterable[Mapping[str, Any]]
    ) -> list[str]:
        """Create each property that does not exist yet; return the names created.

        An existing property whose type differs is reported as an error rather
        than changed: retyping a CRM property can destroy values people entered.
        """
        existing = self.list_properties(object_type)
        created: list[str] = []
        for spec in specs:
            name = spec["name"]
            if name in existing:
                have = existing[name]
                if have.get("type") and have.get("type") != spec.get("type"):
                    raise HubSpotError(
                        f"property {name!r} exists with type {have.get('type')!r}, "
                        f"the mapping says {spec.get('type')!r}",
                        category="PROPERTY_TYPE_MISMATCH",
                    )
                continue
            response = self.request(
                "POST", f"/crm/v3/properties/{object_type}", dict(spec), allowed_status=(409,)
            )
            if response.status_code != 409:
                created.append(name)
        return created

    # -------------------------------------------------------------- companies

    def batch_update_companies(self, inputs: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        """Update companies: ``inputs`` are ``{"id": ..., "properties": {...}}``."""
        return self._batch("/crm/v3/objects/companies/batch/update", inputs)

    def batch_read_companies(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> BatchOutcome:
        return self._batch(
            "/crm/v3/objects/companies/batch/read",
            [{"id": str(i)} for i in ids],
            properties=list(properties),
        )

    def create_companies(self, inputs: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        """Create companies (``{"properties": {...}}`` each): fills a sandbox over HTTP."""
        return self._batch("/crm/v3/objects/companies/batch/create", inputs)

    def list_companies(
        self, properties: Sequence[str] = (), page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every company, following ``paging.next.after`` until the last page."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if properties:
                params["properties"] = ",".join(properties)
            if after:
                params["after"] = after
            body = self._json("GET", "/crm/v3/objects/companies", params=params)
            yield from body.get("results") or []
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    # ------------------------------------------------------------------ tasks

    def create_tasks(self, inputs: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        """Create tasks: ``{"properties": {...}, "associations": [...]}`` each."""
        return self._batch("/crm/v3/objects/tasks/batch/create", inputs)

    def update_tasks(self, inputs: Sequence[Mapping[str, Any]]) -> BatchOutcome:
        return self._batch("/crm/v3/objects/tasks/batch/update", inputs)

    def batch_read_tasks(self, ids: Sequence[str], properties: Sequence[str]) -> BatchOutcome:
        return self._batch(
            "/crm/v3/objects/tasks/batch/read",
            [{"id": str(i)} for i in ids],
            properties=list(properties),
        )

    def search_tasks_by_key(
        self, keys: Sequence[str], properties: Sequence[str] = (), key_property: str = "cs_task_key"
    ) -> dict[str, dict[str, Any]]:
        """Existing tasks by ``cs_task_key``, 100 keys per search request."""
        found: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys([key_property, *properties]))
        for chunk in _chunks(list(dict.fromkeys(keys))):
            after: str | None = None
            while True:
                payload: dict[str, Any] = {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": key_property,
                                    "operator": "IN",
                                    "values": list(chunk),
                                }
                            ]
                        }
                    ],
                    "properties": wanted,
                    "limit": MAX_BATCH_SIZE,
                }
                if after:
                    payload["after"] = after
                body = self._json("POST", "/crm/v3/objects/tasks/search", payload)
                for record in body.get("results") or []:
                    key = (record.get("properties") or {}).get(key_property)
                    if key is not None:
                        found.setdefault(str(key), record)
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return found


def company_association(company_id: str) -> list[dict[str, Any]]:
    """The ``associations`` entry that links a new task to its company."""
    return [
        {
            "to": {"id": str(company_id)},
            "types": [
                {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": TASK_TO_COMPANY_ASSOCIATION_TYPE_ID,
                }
            ],
        }
    ]
