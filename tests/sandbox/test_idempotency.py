"""Idempotency keys on creates (docs/maple-api.md, Idempotency)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers.sandbox import GateClock, credit_body, find, find_all

from maplectl.sandbox import Sandbox


def _credits(api: httpx.Client) -> list[dict[str, object]]:
    return find_all(api, "/credits/find")


def test_replay_is_byte_identical_with_headers(api: httpx.Client) -> None:
    """A repeated keyed create replays the first answer byte for byte and marks it used."""
    first = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-1"})
    second = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "k-1"
    assert "Idempotency-Used" not in first.headers
    assert second.headers["Idempotency-Used"] == "true"
    assert len(_credits(api)) == 1


def test_same_body_in_other_key_order_replays(api: httpx.Client) -> None:
    """Bodies are compared as canonical JSON, so key order and spacing do not matter."""
    body = credit_body()
    api.post("/credits", json=body, headers={"Idempotency-Key": "k-2"})
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=3).encode()
    again = api.post(
        "/credits",
        content=reordered,
        headers={"Idempotency-Key": "k-2", "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["Idempotency-Used"] == "true"


def test_different_body_is_409_and_creates_nothing(api: httpx.Client) -> None:
    """Same key with another body is 409 idempotency_error; nothing is stored or created."""
    api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-3"})
    other = api.post("/credits", json=credit_body(name="Other"), headers={"Idempotency-Key": "k-3"})
    assert other.status_code == 409
    assert other.json()["error_type"] == "idempotency_error"
    assert len(_credits(api)) == 1
    replay = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-3"})
    assert replay.status_code == 201 and replay.headers["Idempotency-Used"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "semi;colon", "a/b"])
def test_bad_key_format_is_400(api: httpx.Client, key: str) -> None:
    """A key outside 1..64 of [A-Za-z0-9_.:-] is 400 validation_error and creates nothing."""
    response = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["validation_errors"][0]["field"] == "Idempotency-Key"
    assert _credits(api) == []


def test_key_of_64_allowed_characters_is_accepted(api: httpx.Client) -> None:
    """The longest key made of every allowed character class works."""
    key = ("Az09_.:-" * 8)[:64]
    assert (
        api.post("/credits", json=credit_body(), headers={"Idempotency-Key": key}).status_code
        == 201
    )


def test_400_answer_is_stored_and_replayed(api: httpx.Client) -> None:
    """The first answer is stored whatever its status: a 400 is replayed for the same body."""
    body = credit_body(customer_id="cus_nobody")
    first = api.post("/credits", json=body, headers={"Idempotency-Key": "k-400"})
    again = api.post("/credits", json=body, headers={"Idempotency-Key": "k-400"})
    assert first.status_code == again.status_code == 400
    assert again.content == first.content
    assert again.headers["Idempotency-Used"] == "true"


def test_malformed_json_answer_is_stored(api: httpx.Client) -> None:
    """Even a malformed body's 400 is the key's first answer."""
    headers = {"Idempotency-Key": "k-bad-json", "Content-Type": "application/json"}
    first = api.post("/credits", content=b"{", headers=headers)
    again = api.post("/credits", content=b"{", headers=headers)
    assert first.status_code == 400 and again.headers["Idempotency-Used"] == "true"


def test_auth_failures_are_not_stored(api: httpx.Client) -> None:
    """401 and 403 answers are given before the key layer, so the key stays unused."""
    key = {"Idempotency-Key": "k-auth"}
    assert (
        api.post(
            "/credits", json=credit_body(), headers={**key, "Authorization": "Bearer bad"}
        ).status_code
        == 401
    )
    assert (
        api.post(
            "/credits",
            json=credit_body(),
            headers={**key, "Authorization": "Bearer sandbox-other-token"},
        ).status_code
        == 403
    )
    good = api.post("/credits", json=credit_body(), headers=key)
    assert good.status_code == 201 and "Idempotency-Used" not in good.headers


def test_rate_limit_is_not_stored(api: httpx.Client, control: httpx.Client) -> None:
    """A 429 leaves the key unused: the retry with the same key creates the credit."""
    control.post(
        "/faults",
        json={"kind": "rate_limit", "route": "POST /credits", "count": 1, "retry_after": 3},
    )
    key = {"Idempotency-Key": "k-429"}
    limited = api.post("/credits", json=credit_body(), headers=key)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json()["error_type"] == "request_error"
    retry = api.post("/credits", json=credit_body(), headers=key)
    assert retry.status_code == 201 and "Idempotency-Used" not in retry.headers


def test_500_before_commit_is_stored(api: httpx.Client, control: httpx.Client) -> None:
    """A 500 spends the key: its replay is the same 500 and nothing was created."""
    control.post(
        "/faults", json={"kind": "error_before_commit", "route": "POST /credits", "count": 1}
    )
    key = {"Idempotency-Key": "k-500"}
    first = api.post("/credits", json=credit_body(), headers=key)
    again = api.post("/credits", json=credit_body(), headers=key)
    assert first.status_code == again.status_code == 500
    assert again.content == first.content and again.headers["Idempotency-Used"] == "true"
    assert _credits(api) == []


def test_key_expires_after_24_hours(api: httpx.Client, control: httpx.Client) -> None:
    """After 24 h of sandbox time a key is new again."""
    key = {"Idempotency-Key": "k-24h"}
    api.post("/credits", json=credit_body(), headers=key)
    control.post("/clock/advance", json={"hours": 23})
    assert (
        api.post("/credits", json=credit_body(), headers=key).headers.get("Idempotency-Used")
        == "true"
    )
    control.post("/clock/advance", json={"hours": 1})
    fresh = api.post("/credits", json=credit_body(), headers=key)
    assert fresh.status_code == 201 and "Idempotency-Used" not in fresh.headers
    assert len(_credits(api)) == 2


def test_key_is_scoped_to_path_and_ignored_on_reads(api: httpx.Client) -> None:
    """A key used on /credits is free on /one_times; finds and GETs ignore keys."""
    key = {"Idempotency-Key": "k-scope"}
    api.post("/credits", json=credit_body(), headers=key)
    charge = {
        "customer_id": "cus_acme",
        "type": "NEXT_INVOICE",
        "onetime_items": [{"product_pricing_id": "pp_training_day", "aggregate": 1}],
    }
    created = api.post("/one_times", json=charge, headers=key)
    assert created.status_code == 201 and "Idempotency-Used" not in created.headers
    found = api.post("/credits/find", json={"pagination": {}}, headers=key)
    assert "Idempotency-Key" not in found.headers


def test_in_flight_key_is_409(
    api: httpx.Client, control: httpx.Client, sb_clock: GateClock
) -> None:
    """While the first request with a key is still running, the same key gets 409."""
    control.post(
        "/faults", json={"kind": "slow_commit", "route": "POST /credits", "count": 1, "ms": 5000}
    )
    sb_clock.gate.clear()
    key = {"Idempotency-Key": "k-flight"}
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(api.post, "/credits", json=credit_body(), headers=key)
        assert sb_clock.entered.wait(10)
        clash = api.post("/credits", json=credit_body(), headers=key)
        assert clash.status_code == 409
        assert clash.json()["error_type"] == "idempotency_error"
        assert clash.headers["Idempotency-Key"] == "k-flight"
        sb_clock.gate.set()
        assert slow.result(10).status_code == 201
    replay = api.post("/credits", json=credit_body(), headers=key)
    assert replay.status_code == 201 and replay.headers["Idempotency-Used"] == "true"
    assert len(_credits(api)) == 1


def test_twenty_threads_one_key_create_one_credit(api: httpx.Client) -> None:
    """20 threads posting one key and body at once create exactly one credit; the rest
    got the replay or 409."""
    barrier = threading.Barrier(20)

    def post() -> httpx.Response:
        barrier.wait(10)
        return api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-20"})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: post(), range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}
    fresh = [a for a in answers if a.status_code == 201 and "Idempotency-Used" not in a.headers]
    assert len(fresh) == 1
    assert len(find(api, "/credits/find").json()["results"]) == 1


def test_store_level_idempotency_without_http(sandbox: Sandbox) -> None:
    """The key store works without HTTP: claim, complete, replay, conflict."""
    from maplectl.sandbox.errors import KeyInFlight

    scope = ("cmp_demo", "POST", "/x")
    now = sandbox.store.clock.now()
    keys = sandbox.store.idempotency
    with sandbox.store.write() as s:
        assert keys.claim(s, scope, "k", "d1", now) is None
    with sandbox.store.write() as s, pytest.raises(KeyInFlight):
        keys.claim(s, scope, "k", "d1", now)
    with sandbox.store.write() as s:
        keys.complete(s, scope, "k", 201, b"{}")
    with sandbox.store.write() as s:
        stored = keys.claim(s, scope, "k", "d1", now)
    assert stored is not None and stored.status == 201 and stored.body == b"{}"
