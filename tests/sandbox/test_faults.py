"""Fault injection (docs/sandbox.md, Faults), in process."""

from __future__ import annotations

import httpx
import pytest
from helpers.sandbox import GateClock, credit_body, find, find_all


def _fault(control: httpx.Client, **spec: object) -> dict[str, object]:
    response = control.post("/faults", json=spec)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_latency_sleeps_on_the_injected_clock(
    api: httpx.Client, control: httpx.Client, sb_clock: GateClock
) -> None:
    """latency adds its delay (through the clock's sleep) before handling."""
    _fault(control, kind="latency", route="GET /customers/{customer_id}", ms=250, count=2)
    api.get("/customers/acme")
    api.get("/customers/acme")
    api.get("/customers/acme")
    assert sb_clock.slept == [0.25, 0.25]


def test_rate_limit_for_next_n(api: httpx.Client, control: httpx.Client) -> None:
    """rate_limit answers 429 with Retry-After for exactly the next N matching requests."""
    _fault(control, kind="rate_limit", route="POST /credits/find", count=2, retry_after=7)
    answers = [find(api, "/credits/find") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert api.get("/customers/acme").status_code == 200  # other routes untouched


def test_probability_is_reproducible_with_a_seed(api: httpx.Client, control: httpx.Client) -> None:
    """A probabilistic fault with a seed fires on the same requests every time."""

    def pattern() -> list[int]:
        control.post("/reset")
        _fault(control, kind="rate_limit", route="*", probability=0.5, seed=42)
        return [api.get("/customers/acme").status_code for _ in range(20)]

    first = pattern()
    assert first == pattern()
    assert 0 < first.count(429) < 20


def test_error_before_commit_writes_nothing(api: httpx.Client, control: httpx.Client) -> None:
    """error_before_commit answers 500 and writes nothing (without a key too)."""
    _fault(control, kind="error_before_commit", route="POST /credits", count=1)
    response = api.post("/credits", json=credit_body())
    assert response.status_code == 500
    assert response.json()["error_type"] == "request_error"
    assert find_all(api, "/credits/find") == []


def test_error_after_commit_writes_and_stores_the_500(
    api: httpx.Client, control: httpx.Client
) -> None:
    """error_after_commit: the credit exists, and the key's stored answer is the 500."""
    _fault(control, kind="error_after_commit", route="POST /credits", count=1)
    key = {"Idempotency-Key": "k-after"}
    first = api.post("/credits", json=credit_body(), headers=key)
    assert first.status_code == 500
    assert len(find_all(api, "/credits/find")) == 1
    replay = api.post("/credits", json=credit_body(), headers=key)
    assert replay.status_code == 500 and replay.content == first.content
    assert replay.headers["Idempotency-Used"] == "true"


def test_drop_after_commit_in_process(api: httpx.Client, control: httpx.Client) -> None:
    """drop_after_commit: no response (RemoteProtocolError), but the credit exists and a retry
    with the same key replays the real 201."""
    _fault(control, kind="drop_after_commit", route="POST /credits", count=1)
    key = {"Idempotency-Key": "k-drop"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/credits", json=credit_body(), headers=key)
    [credit] = find_all(api, "/credits/find")
    retry = api.post("/credits", json=credit_body(), headers=key)
    assert retry.status_code == 201 and retry.headers["Idempotency-Used"] == "true"
    assert retry.json()["id"] == credit["id"]


def test_slow_commit_outlasts_a_client_timeout(
    api: httpx.Client, control: httpx.Client, sb_clock: GateClock
) -> None:
    """slow_commit holds the key in flight while it sleeps, then commits and answers."""
    _fault(control, kind="slow_commit", route="POST /credits", ms=30000, count=1)
    response = api.post("/credits", json=credit_body(), headers={"Idempotency-Key": "k-slow"})
    assert response.status_code == 201
    assert sb_clock.slept == [30.0]


def test_find_lag_hides_fresh_objects(
    api: httpx.Client, control: httpx.Client, sb_clock: GateClock
) -> None:
    """find_lag hides objects younger than N seconds from /find, not from GET."""
    credit = api.post("/credits", json=credit_body()).json()
    _fault(control, kind="find_lag", route="POST /credits/find", seconds=5)
    assert find(api, "/credits/find").json()["results"] == []
    assert api.get(f"/credits/{credit['id']}").status_code == 200
    sb_clock.advance(6)
    assert len(find(api, "/credits/find").json()["results"]) == 1


def test_wildcard_route_and_listing(api: httpx.Client, control: httpx.Client) -> None:
    """A "*" fault matches every route; the list shows what is left; clear disarms all."""
    fault = _fault(control, kind="rate_limit", count=3)
    api.get("/customers/acme")
    listed = control.get("/faults").json()["faults"]
    assert listed[0]["id"] == fault["id"] and listed[0]["remaining"] == 2
    assert control.delete("/faults").json() == {"cleared": 1}
    assert api.get("/customers/acme").status_code == 200


def test_remove_one_fault(api: httpx.Client, control: httpx.Client) -> None:
    """DELETE /_sandbox/faults/{id} disarms that fault; an unknown id is 404."""
    fault = _fault(control, kind="rate_limit")
    assert control.delete(f"/faults/{fault['id']}").status_code == 200
    assert control.delete(f"/faults/{fault['id']}").status_code == 404
    assert api.get("/customers/acme").status_code == 200


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "meteor"}, "kind"),
        ({"kind": "latency", "count": 0}, "count"),
        ({"kind": "latency", "probability": 2}, "probability"),
        ({"kind": "latency", "route": "credits"}, "route"),
        ({"kind": "latency", "colour": 1}, "colour"),
    ],
)
def test_bad_fault_specs_are_400(
    control: httpx.Client, spec: dict[str, object], field: str
) -> None:
    """A fault that cannot work is refused, naming the field."""
    response = control.post("/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["validation_errors"][0]["field"] == field
