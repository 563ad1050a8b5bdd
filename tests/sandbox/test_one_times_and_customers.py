"""One-time charges and customers (docs/maple-api.md, One-time charges and Customers)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers.sandbox import find_all


def _charge(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": "cus_acme",
        "type": "NEXT_INVOICE",
        "onetime_items": [
            {"product_pricing_id": "pp_onboarding_fee", "aggregate": 1},
            {
                "custom_price": {
                    "amount": {"currency": "USD", "value_in_cents": 9900},
                    "description": "Data migration",
                },
                "aggregate": 2,
            },
        ],
        "metadata": {"ticket": "T-1"},
        "notes": "kick-off",
    }
    body.update(overrides)
    return body


def test_one_billable_per_item_in_order(api: httpx.Client) -> None:
    """The answer has one billable per item in request order, named from the pricing or the
    custom price's description, PENDING for NEXT_INVOICE; metadata and notes are not echoed."""
    response = api.post("/one_times", json=_charge())
    assert response.status_code == 201, response.text
    first, second = response.json()
    assert first["id"].startswith("otb_") and second["id"].startswith("otb_")
    assert (first["name"], second["name"]) == ("Onboarding fee", "Data migration")
    assert first["state"] == second["state"] == "PENDING"
    assert first["product_pricing"]["price"] == {"currency": "USD", "value_in_cents": 150000}
    assert second["custom_price"]["amount"]["value_in_cents"] == 9900
    assert second["aggregate"] == 2
    assert "metadata" not in first and "notes" not in first


def test_immediate_charges_are_invoiced(api: httpx.Client) -> None:
    """IMMEDIATE billables are INVOICED."""
    billables = api.post("/one_times", json=_charge(type="IMMEDIATE", auto_charges=True)).json()
    assert {b["state"] for b in billables} == {"INVOICED"}


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"aggregate": 1}, "onetime_items[0]"),
        (
            {
                "product_pricing_id": "pp_onboarding_fee",
                "aggregate": 1,
                "custom_price": {
                    "amount": {"currency": "USD", "value_in_cents": 1},
                    "description": "x",
                },
            },
            "onetime_items[0]",
        ),
        ({"product_pricing_id": "pp_nope", "aggregate": 1}, "onetime_items[0].product_pricing_id"),
        ({"product_pricing_id": "pp_onboarding_fee", "aggregate": 0}, "onetime_items[0].aggregate"),
        ({"product_pricing_id": "pp_onboarding_fee"}, "onetime_items[0].aggregate"),
        (
            {
                "custom_price": {
                    "amount": {"currency": "USD", "value_in_cents": 1},
                    "description": "x",
                    "product_id": "prod_nope",
                },
                "aggregate": 1,
            },
            "onetime_items[0].custom_price.product_id",
        ),
    ],
)
def test_item_rules(api: httpx.Client, item: dict[str, Any], field: str) -> None:
    """Each item needs exactly one price source, a positive quantity and existing ids."""
    response = api.post("/one_times", json=_charge(onetime_items=[item]))
    assert response.status_code == 400, response.text
    assert field in {e["field"] for e in response.json()["validation_errors"]}
    assert find_all(api, "/one_times/find") == []


def test_charge_rules(api: httpx.Client) -> None:
    """Unknown customer, empty items and an unknown type are named."""
    for body, field in [
        (_charge(customer_id="cus_nope"), "customer_id"),
        (_charge(onetime_items=[]), "onetime_items"),
        (_charge(type="LATER"), "type"),
    ]:
        response = api.post("/one_times", json=body)
        assert response.status_code == 400
        assert field in {e["field"] for e in response.json()["validation_errors"]}


def test_find_one_times_filters(api: httpx.Client) -> None:
    """/one_times/find returns billables and filters by customer_id, state and type."""
    api.post("/one_times", json=_charge())
    api.post("/one_times", json=_charge(customer_id="cus_globex", type="IMMEDIATE"))
    assert len(find_all(api, "/one_times/find")) == 4
    assert len(find_all(api, "/one_times/find", {"customer_id": "cus_globex"})) == 2
    assert len(find_all(api, "/one_times/find", {"state": "PENDING"})) == 2
    assert (
        len(find_all(api, "/one_times/find", {"type": "IMMEDIATE", "customer_id": "cus_acme"})) == 0
    )


def test_get_customer_by_id_or_identifier(api: httpx.Client) -> None:
    """GET /customers/{x} accepts the Maple id or the customer's identifier."""
    by_id = api.get("/customers/cus_globex").json()
    assert by_id == api.get("/customers/globex").json()
    assert by_id["name"] == "Globex Corporation"
    assert api.get("/customers/nobody").status_code == 404


def test_find_customers_filters(api: httpx.Client) -> None:
    """Customer finds filter by identifier, email, name, status and search."""
    assert len(find_all(api, "/customers/find")) == 5
    assert [c["id"] for c in find_all(api, "/customers/find", {"identifier": "hooli"})] == [
        "cus_hooli"
    ]
    assert [c["id"] for c in find_all(api, "/customers/find", {"email": "ap@globex.example"})] == [
        "cus_globex"
    ]
    assert [c["id"] for c in find_all(api, "/customers/find", {"name": "Initech"})] == [
        "cus_initech"
    ]
    assert {c["id"] for c in find_all(api, "/customers/find", {"search": "CORP"})} == {
        "cus_acme",
        "cus_globex",
    }
    assert len(find_all(api, "/customers/find", {"status": "ARCHIVED"})) == 0
    page = api.post(
        "/customers/find", json={"pagination": {"limit": 2}, "include_meta": True}
    ).json()
    assert page["pagination"]["total"] == 5
