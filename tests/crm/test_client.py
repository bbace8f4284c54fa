"""HubSpotClient: pacing, retries, 207 parsing and token hygiene.

The protocol-level cases (Retry-After honoured, backoff on 5xx, errors never
carrying the token) use ``httpx.MockTransport`` so they can assert exact
requests and waits; everything else runs against the sandbox on a real
loopback socket.
"""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from orchestration.crm.client import (
    HubSpotAuthError,
    HubSpotClient,
    HubSpotError,
    RollingWindowLimiter,
)

SECRET = "pat-na1-very-secret-token"


def _mock_client(handler, **kwargs) -> tuple[HubSpotClient, list[float]]:
    sleeps: list[float] = []
    client = HubSpotClient(
        "https://crm.test",
        SECRET,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )
    return client, sleeps


# ------------------------------------------------------------------ unit level


def test_limiter_never_exceeds_rolling_window():
    """Whatever the order of calls, no window of `interval` holds more than `max`."""
    now = [0.0]
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RollingWindowLimiter(5, 1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(23):
        limiter.acquire()
        sent.append(now[0])
        now[0] += 0.01  # request latency
        limiter.release()
    for start in sent:
        assert sum(start <= t < start + 1.0 for t in sent) <= 5
    # ...and it is not needlessly slow: 23 requests at 5/s take a little over 4 s.
    assert sent[-1] < 4.5


def test_limiter_tightens_but_never_loosens():
    limiter = RollingWindowLimiter(190, 10)
    assert not limiter.tighten(500, 10)
    assert limiter.tighten(5, 1)
    assert (limiter.max_requests, limiter.interval_seconds) == (5, 1)


def test_429_waits_retry_after_then_succeeds():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(
                429,
                headers={"Retry-After": "2"},
                json={"status": "error", "errorType": "RATE_LIMIT",
                      "policyName": "TEN_SECONDLY_ROLLING", "message": "limit"},
            )
        return httpx.Response(200, json={"status": "COMPLETE", "results": [{"id": "1"}]})

    client, sleeps = _mock_client(handler)
    outcome = client.batch_update_companies([{"id": "1", "properties": {"a": "1"}}])
    assert outcome.ok_ids == ["1"]
    assert len(calls) == 3
    assert [round(s) for s in sleeps] == [2, 2]
    assert client.stats.rate_limited == 2


def test_5xx_and_transport_errors_back_off_exponentially():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(502, json={"message": "bad gateway"})
        if len(calls) == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        if len(calls) == 3:
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return httpx.Response(200, json={"results": []})

    client, sleeps = _mock_client(handler)
    client.batch_update_companies([{"id": "1", "properties": {}}])
    assert len(calls) == 4
    assert len(sleeps) == 3
    # Each wait is drawn from [ceiling/2, ceiling] with the ceiling doubling.
    for attempt, seconds in enumerate(sleeps):
        ceiling = 0.2 * 2**attempt
        assert ceiling / 2 <= seconds <= ceiling


def test_gives_up_after_max_retries_without_the_token():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"message": f"echo {request.headers['Authorization']}"})

    client, sleeps = _mock_client(handler, max_retries=2)
    with pytest.raises(HubSpotError) as info:
        client.batch_update_companies([{"id": "1", "properties": {}}])
    assert info.value.status_code == 503
    assert len(sleeps) == 2
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert "[redacted]" in str(info.value)


def test_207_splits_good_records_from_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        return httpx.Response(
            207,
            json={
                "status": "COMPLETE",
                "results": [{"id": i["id"], "properties": i["properties"]} for i in inputs[1:]],
                "numErrors": 1,
                "errors": [
                    {"status": "error", "category": "OBJECT_NOT_FOUND",
                     "message": "no such company", "context": {"ids": [inputs[0]["id"]]}}
                ],
            },
        )

    client, _ = _mock_client(handler)
    inputs = [{"id": str(i), "properties": {"x": "1"}} for i in range(250)]
    outcome = client.batch_update_companies(inputs)
    assert outcome.requests == 3  # 100 + 100 + 50
    assert len(outcome.ok_ids) == 247
    assert set(outcome.error_by_id()) == {"0", "100", "200"}
    assert outcome.error_by_id()["0"].category == "OBJECT_NOT_FOUND"


def test_client_repr_and_settings_hide_the_token():
    from orchestration.settings import load_settings

    settings = load_settings({"HUBSPOT_ACCESS_TOKEN": SECRET})
    client = HubSpotClient.from_settings(settings)
    assert SECRET not in repr(client)
    assert SECRET not in repr(settings)
    assert client.rate_limit == (190, 10.0)
    client.close()


# --------------------------------------------------------------- against sandbox


@pytest.fixture
def client(sandbox_server):
    with HubSpotClient(
        sandbox_server.base_url,
        sandbox_server.token,
        requests_per_interval=100,
        interval_seconds=1,
        timeout_seconds=1,
        max_retries=6,
        max_backoff_seconds=1,
    ) as crm:
        yield crm


def test_wrong_token_is_an_auth_error_that_does_not_leak(sandbox_server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "pat-na1-wrong-token-value"
    with HubSpotClient(sandbox_server.base_url, wrong, timeout_seconds=2) as crm:
        with pytest.raises(HubSpotAuthError) as info:
            crm.list_properties("companies")
    assert info.value.status_code == 401
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert wrong not in caplog.text


def test_properties_are_created_once(client, sandbox_server):
    assert client.ensure_property_group("companies", "customer_success", "Customer Success")
    assert not client.ensure_property_group("companies", "customer_success", "Customer Success")
    spec = {"name": "cs_health_score", "label": "Health score", "type": "number",
            "fieldType": "number", "groupName": "customer_success"}
    assert client.ensure_properties("companies", [spec]) == ["cs_health_score"]
    assert client.ensure_properties("companies", [spec]) == []
    assert client.list_properties("companies")["cs_health_score"]["type"] == "number"


def test_batch_update_read_and_list(client, sandbox_server):
    sandbox_server.seed_companies(
        [{"id": str(i), "properties": {"name": f"Company {i}"}} for i in range(1, 151)]
    )
    client.ensure_property_group("companies", "customer_success", "Customer Success")
    client.ensure_properties("companies", [
        {"name": "cs_health_score", "label": "Health", "type": "number",
         "fieldType": "number", "groupName": "customer_success"},
    ])
    inputs = [{"id": str(i), "properties": {"cs_health_score": str(i / 2)}} for i in range(1, 151)]
    inputs.append({"id": "999999", "properties": {"cs_health_score": "1"}})
    inputs.append({"id": "3", "properties": {"cs_health_score": "not a number"}})
    outcome = client.batch_update_companies(inputs)
    assert outcome.requests == 2
    assert "999999" in outcome.error_by_id()
    assert "3" in outcome.error_by_id()
    assert len(set(outcome.ok_ids)) == 150  # id 3 was written by its first, valid input

    read = client.batch_read_companies(["1", "150"], ["cs_health_score"])
    values = {r["id"]: r["properties"]["cs_health_score"] for r in read.results}
    assert float(values["1"]) == 0.5 and float(values["150"]) == 75

    listed = list(client.list_companies(["cs_health_score"], page_size=40))
    assert len({c["id"] for c in listed}) == 150


def test_more_than_100_inputs_are_split(client, sandbox_server):
    sandbox_server.seed_companies([{"id": str(i), "properties": {}} for i in range(1, 251)])
    outcome = client.batch_update_companies(
        [{"id": str(i), "properties": {"name": f"n{i}"}} for i in range(1, 251)]
    )
    assert outcome.requests == 3
    sizes = [n for method, path, n in sandbox_server.request_log if path.endswith("batch/update")]
    assert sizes == [100, 100, 50]


def test_faults_are_retried(sandbox_server):
    sandbox_server.seed_companies([{"id": "1", "properties": {}}])
    sandbox_server.inject_faults(status_5xx=2, timeouts=1, drops=1, timeout_seconds=0.6)
    with HubSpotClient(
        sandbox_server.base_url, sandbox_server.token, timeout_seconds=0.3,
        max_retries=6, max_backoff_seconds=0.3,
    ) as crm:
        outcome = crm.batch_update_companies([{"id": "1", "properties": {"name": "after"}}])
        assert outcome.ok_ids == ["1"]
        assert crm.stats.server_errors == 2
        assert crm.stats.transport_errors == 2  # the timeout and the dropped connection
    assert sandbox_server.company("1")["name"] == "after"


def test_rate_limit_is_ridden_out(sandbox_server):
    """The sandbox allows 5 requests/s; a client configured for 100/s still gets through."""
    sandbox_server.set_rate_limit(5, 1)
    sandbox_server.seed_companies([{"id": "1", "properties": {}}])
    with HubSpotClient(
        sandbox_server.base_url, sandbox_server.token, requests_per_interval=100,
        interval_seconds=1, timeout_seconds=2, max_retries=10, max_backoff_seconds=2,
    ) as crm:
        started = time.monotonic()
        for i in range(12):
            assert crm.batch_update_companies(
                [{"id": "1", "properties": {"name": f"v{i}"}}]
            ).ok_ids == ["1"]
        elapsed = time.monotonic() - started
        # After the first 429 the client paces itself to the server's headers.
        assert crm.rate_limit == (5, 1)
        assert crm.stats.rate_limited <= 2
    assert elapsed < 6
    assert sandbox_server.company("1")["name"] == "v11"


def test_tasks_create_search_and_duplicate_key(client, sandbox_server):
    sandbox_server.seed_companies([{"id": "7", "properties": {}}])
    client.ensure_property_group("tasks", "customer_success", "Customer Success")
    client.ensure_properties("tasks", [
        {"name": "cs_task_key", "label": "CS task key", "type": "string",
         "fieldType": "text", "groupName": "customer_success"},
    ])
    from orchestration.crm.client import company_association

    def task(key: str) -> dict:
        return {
            "properties": {
                "hs_timestamp": "2026-12-10T00:00:00Z",
                "hs_task_subject": f"Call about {key}",
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": "CALL",
                "cs_task_key": key,
            },
            "associations": company_association("7"),
        }

    first = client.create_tasks([task("k1"), task("k2")])
    assert len(first.ok_ids) == 2
    again = client.create_tasks([task("k2"), task("k3")])
    assert len(again.ok_ids) == 1
    assert again.error_by_key()["k2"].category == "OBJECT_ALREADY_EXISTS"
    found = client.search_tasks_by_key(["k1", "k2", "k3", "nope"])
    assert set(found) == {"k1", "k2", "k3"}
    assert len(sandbox_server.tasks()) == 3
