"""Rows Maple returns are checked once, at the client: a malformed one is a clear error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maplectl.config import Secret
from maplectl.errors import NonFiniteNumber, TransportError
from maplectl.maple.client import MapleClient
from maplectl.maple.reader import Collection
from maplectl.maple.records import parse_row

GOOD = {
    "id": "crd_1",
    "customer_id": "cus_acme",
    "name": "Goodwill",
    "type": "AMOUNT",
    "state": "ACTIVE",
    "issued_amount": {"currency": "USD", "value_in_cents": 500},
    "amount": {"currency": "USD", "value_in_cents": 500},
    "created_at": "2026-01-01T00:00:00Z",
}


def page_of(row: Any) -> MapleClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [row], "pagination": {"from_key": None}})

    return MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_x",
        token=Secret("tok-123456"),
        transport=httpx.MockTransport(handler),
        sleeper=lambda s: None,
    )


def test_a_well_formed_row_passes_unchanged() -> None:
    """What Maple sent is what planning sees."""
    with page_of(GOOD) as client:
        assert client.find_page(Collection.CREDITS, {}).results == [GOOD]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("id", None, "without a string id"),
        ("customer_id", 7, "without a string customer_id"),
        ("issued_amount", {"currency": "USD", "value_in_cents": 5.0}, "integer minor units"),
        ("amount", {"value_in_cents": 5}, "integer minor units"),
        ("name", ["Goodwill"], "name is not a string"),
        ("issued_units", "100", "issued_units is not a number"),
    ],
)
def test_a_malformed_credit_is_a_transport_error_naming_the_field(
    field: str, value: Any, says: str
) -> None:
    """A float amount or a missing id never reaches matching as if it were money or identity."""
    with page_of({**GOOD, field: value}) as client, pytest.raises(TransportError, match=says):
        client.find_page(Collection.CREDITS, {})


def test_a_malformed_billable_is_refused_too() -> None:
    """A billable's custom price is money in integer minor units, its quantity a number."""
    row = {
        "id": "otb_1",
        "customer_id": "cus_acme",
        "type": "NEXT_INVOICE",
        "aggregate": 1,
        "custom_price": {"amount": {"currency": "USD", "value_in_cents": "100"}},
    }
    with page_of(row) as client, pytest.raises(TransportError, match=r"custom_price\.amount"):
        client.find_page(Collection.ONE_TIMES, {})
    with (
        page_of({**row, "custom_price": None, "aggregate": True}) as client,
        pytest.raises(TransportError, match="aggregate is not a number"),
    ):
        client.find_page(Collection.ONE_TIMES, {})


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
def test_a_number_beyond_a_float_is_refused_once_not_retried(number: str) -> None:
    """A number JSON writes but no float holds (1e999 reads as infinity) is refused as a
    non-finite number at the first answer, without retrying: the same request gets the same."""
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        row = '{"id": "b1", "customer_id": "c", "aggregate": ' + number + "}"
        body = '{"results": [' + row + '], "pagination": {"from_key": null, "limit": 100}}'
        return httpx.Response(200, content=body.encode())

    client = MapleClient(
        api_url="https://maple.test/api/v1",
        company_id="cmp_demo",
        token=Secret("t0ken-remote-rows"),
        transport=httpx.MockTransport(answer),
        sleeper=lambda s: None,
    )
    with client, pytest.raises(NonFiniteNumber, match="only finite numbers"):
        client.find_page(Collection.ONE_TIMES, {"customer_id": "c"})
    assert len(calls) == 1


def test_parse_row_refuses_a_non_finite_number() -> None:
    """A row built in Python (no JSON on the way) whose units are infinite is refused by the
    row check, naming the row and the field."""
    row = {"id": "crd_1", "customer_id": "cus_a", "type": "UNITS", "units": float("inf")}
    with pytest.raises(TransportError, match=r"crd_1.*units is inf, not a finite number"):
        parse_row("credits", row)
