"""Building blocks of the sandbox tests: the demo company, request bodies, ``/find`` helpers,
and a manual clock a test can hold still while another thread sleeps on it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import httpx

from maplectl.sandbox import ManualClock

COMPANY = "cmp_demo"
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class GateClock(ManualClock):
    """A manual clock whose ``sleep`` blocks until the test opens the gate (no real waiting
    beyond the hand-off between threads)."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.entered.set()
        assert self.gate.wait(10), "test never opened the gate"
        super().sleep(seconds)


def credit_body(**overrides: Any) -> dict[str, Any]:
    """A valid AMOUNT credit create body for cus_acme."""
    body: dict[str, Any] = {
        "customer_id": "cus_acme",
        "name": "Welcome credit",
        "type": "AMOUNT",
        "state": "ACTIVE",
        "amount": {"currency": "USD", "value_in_cents": 5000},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def units_body(**overrides: Any) -> dict[str, Any]:
    """A valid UNITS credit create body for cus_acme."""
    body: dict[str, Any] = {
        "customer_id": "cus_acme",
        "name": "API calls pack",
        "type": "UNITS",
        "units": 1000,
        "item_id": "itm_api_calls",
    }
    body.update(overrides)
    return body


def find(
    client: httpx.Client, path: str, query: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    """POST a find body with pagination."""
    body: dict[str, Any] = {"pagination": {"limit": extra.pop("limit", 20)}}
    if "from_key" in extra:
        body["pagination"]["from_key"] = extra.pop("from_key")
    if query is not None:
        body["query"] = query
    body.update(extra)
    return client.post(path, json=body)


def find_all(
    client: httpx.Client, path: str, query: dict[str, Any] | None = None, **extra: Any
) -> list[dict[str, Any]]:
    """Every result of a find, following cursors."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = find(client, path, query, from_key=cursor, **extra)
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["results"])
        cursor = page["pagination"]["from_key"]
        if cursor is None:
            return out
